import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterAttributes, type DeadLetterInfo } from '../contracts/deadLetter';

/**
 * Puts a message on a dead-letter queue as it came (body unchanged, so it can be redriven) with the
 * reason and ids in the layout of lib/contracts/deadLetter.ts. The caller then acknowledges the original.
 *
 * @example
 * await deadLetter(sqs, dlqUrl, record.body, { source: 'sender', reason: 'invalid message: to: ...', tenantId, messageId: id });
 */
export async function deadLetter(sqs: SQSClient, dlqUrl: string, body: string, info: DeadLetterInfo, nowMs: number = Date.now()): Promise<string> {
  const r = await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: body || '(empty body)', MessageAttributes: deadLetterAttributes(info, nowMs) }));
  return r.MessageId!;
}
