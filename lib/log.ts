import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one structured JSON logger (Powertools). Log fields, never secrets: tenantId, eventId,
 * message id, status. Decrypted payloads and credentials are never passed to it.
 */
export const logger = new Logger({ serviceName: 'dingtalk-bridge', logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
