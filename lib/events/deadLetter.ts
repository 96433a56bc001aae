import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { deadLetter } from '../queue/deadLetter';

/** Moves a record that can never be processed to the dead-letter queue, with the reason. */
export type DeadLetter = (record: SQSRecord, reason: string) => Promise<void>;

/**
 * A {@link DeadLetter} that sends the original body to `queueUrl` (the events DLQ) in the shared
 * dead-letter layout (lib/contracts/deadLetter.ts), `source: events`.
 *
 * @example
 * const deadLetter = sqsDeadLetter(sqs, process.env.EVENTS_DLQ_URL!);
 * await deadLetter(record, 'message body is not JSON');
 */
export function sqsDeadLetter(sqs: SQSClient, queueUrl: string): DeadLetter {
  return async (record, reason) => {
    await deadLetter(sqs, queueUrl, record.body, {
      source: 'events',
      reason,
      sqsMessageId: record.messageId,
      receiveCount: Number(record.attributes?.ApproximateReceiveCount) || undefined,
    });
  };
}
