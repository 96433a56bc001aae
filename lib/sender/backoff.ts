import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BridgeError } from '../errors';

export interface RetryPolicy {
  /** Delay before the 2nd receive, seconds; doubles per receive. */
  baseSeconds: number;
  /** Largest delay, seconds (SQS allows up to 12 h of visibility). */
  capSeconds: number;
  /** The receive that gives up: the message goes to the dead-letter queue with the reason. */
  maxReceiveCount: number;
}

/**
 * A record to hand back to SQS (a batch item failure) after its visibility was set to the backoff
 * delay. Retryable by definition.
 */
export class RetryLaterError extends BridgeError {
  readonly retryable = true;

  constructor(reason: string, readonly delaySeconds: number) {
    super(`retry in ${delaySeconds}s: ${reason}`, 503, 'retry_later');
  }
}

/**
 * Exponential backoff with "equal jitter": half the exponential delay fixed, half random, so
 * retries of a burst spread out but never come back at once.
 *
 * @example
 * backoffSeconds(3, { baseSeconds: 5, capSeconds: 900, maxReceiveCount: 8 }, () => 0.5) // 15 (20 * 0.75)
 */
export function backoffSeconds(receiveCount: number, policy: Pick<RetryPolicy, 'baseSeconds' | 'capSeconds'>, random: () => number = Math.random): number {
  const exp = Math.min(policy.capSeconds, policy.baseSeconds * 2 ** Math.max(0, receiveCount - 1));
  return Math.min(43_200, Math.round(exp / 2 + (random() * exp) / 2));
}

/** Sets a received message's visibility timeout: it comes back after `seconds`. */
export async function delayRedelivery(sqs: SQSClient, queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
}

/** The queue URL of an SQS event record: `arn:aws:sqs:<region>:<account>:<name>` -> `https://sqs.<region>.amazonaws.com/<account>/<name>`. */
export function queueUrlOfArn(arn: string): string | undefined {
  const m = /^arn:aws[\w-]*:sqs:([\w-]+):(\d+):(.+)$/.exec(arn);
  return m ? `https://sqs.${m[1]}.amazonaws.com/${m[2]}/${m[3]}` : undefined;
}
