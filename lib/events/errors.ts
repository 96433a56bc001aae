import { ValidationError } from '../errors';

/**
 * A queued event that can never be processed: bad JSON, no tenantId, no openConversationId, ...
 * Not retryable: the record goes to the events dead-letter queue with this message as the reason.
 */
export class InvalidEventError extends ValidationError {}
