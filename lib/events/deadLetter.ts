import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** Moves a record that can never be processed to the dead-letter queue, with the reason. */
export type DeadLetter = (record: SQSRecord, reason: string) => Promise<void>;

/**
 * A {@link DeadLetter} that sends the original body to `queueUrl` (the events DLQ) with message
 * attributes `reason`, `sourceMessageId`, `sourceQueueArn` and `receiveCount`.
 *
 * @example
 * const deadLetter = sqsDeadLetter(sqs, process.env.EVENTS_DLQ_URL!);
 * await deadLetter(record, 'message body is not JSON');
 */
export function sqsDeadLetter(sqs: SQSClient, queueUrl: string): DeadLetter {
  const attr = (v: string) => ({ DataType: 'String', StringValue: v.slice(0, 1024) || '-' });
  return async (record, reason) => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: record.body || '(empty body)',
        MessageAttributes: {
          reason: attr(reason),
          sourceMessageId: attr(record.messageId),
          sourceQueueArn: attr(record.eventSourceARN ?? ''),
          receiveCount: attr(record.attributes?.ApproximateReceiveCount ?? ''),
        },
      }),
    );
  };
}
