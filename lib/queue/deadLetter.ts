import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface DeadLetterInfo {
  reason: string;
  tenantId?: string;
  id?: string;
  receiveCount?: number;
}

/**
 * Puts a message on the dead-letter queue as it came (body unchanged, so it can be redriven) with
 * the reason and the ids as message attributes. The caller then acknowledges the original.
 *
 * @example
 * await deadLetter(sqs, dlqUrl, record.body, { reason: 'invalid message: to: ...', tenantId, id });
 */
export async function deadLetter(sqs: SQSClient, dlqUrl: string, body: string, info: DeadLetterInfo): Promise<string> {
  const attr = (v: string) => ({ DataType: 'String', StringValue: v });
  const r = await sqs.send(
    new SendMessageCommand({
      QueueUrl: dlqUrl,
      MessageBody: body,
      MessageAttributes: {
        reason: attr(info.reason.slice(0, 1000) || 'unknown'),
        source: attr('sender'),
        failedAt: attr(new Date().toISOString()),
        ...(info.tenantId ? { tenantId: attr(info.tenantId.slice(0, 256)) } : {}),
        ...(info.id ? { notifyId: attr(info.id.slice(0, 256)) } : {}),
        ...(info.receiveCount ? { receiveCount: { DataType: 'Number', StringValue: String(info.receiveCount) } } : {}),
      },
    }),
  );
  return r.MessageId!;
}
