import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from './contracts/deployment';

/**
 * The one structured JSON logger (Powertools). Log fields, never secrets: tenantId, eventId,
 * message id, status. Decrypted payloads and credentials are never passed to it.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME, logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
