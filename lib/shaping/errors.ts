import { BridgeError } from '../errors';

/**
 * Too many instances raced for the same DynamoDB counter and this one lost every attempt.
 * Retryable: the sender should leave the message on the queue (batch item failure).
 */
export class ContentionError extends BridgeError {
  readonly retryable = true;

  constructor(what: string, attempts: number) {
    super(`${what}: gave up after ${attempts} conflicting writes`, 503, 'contention');
  }
}
