import type { MessageAttributeValue } from '@aws-sdk/client-sqs';

/**
 * The dead-letter layout (docs/DESIGN.md, "Contracts"): a message that can never be processed goes to
 * its queue's DLQ with its body unchanged (so it can be redriven) and these message attributes,
 * the same for the events and the notify DLQ.
 *
 * | attribute        | type   |                                                               |
 * |------------------|--------|---------------------------------------------------------------|
 * | `reason`         | String | why it can never succeed (at most 1,000 characters)           |
 * | `source`         | String | the function that gave up: `events`, `sender`, `unpark`, `actions` |
 * | `failedAt`       | String | ISO time                                                      |
 * | `tenantId`       | String | when it could be read                                         |
 * | `messageId`      | String | the contract message's id (notify `id`), when it could be read |
 * | `sqsMessageId`   | String | the SQS message id of the record given up on                  |
 * | `receiveCount`   | Number | receives of that record                                       |
 */
export interface DeadLetterInfo {
  source: 'events' | 'sender' | 'unpark' | 'actions';
  reason: string;
  tenantId?: string;
  messageId?: string;
  sqsMessageId?: string;
  receiveCount?: number;
}

const MAX_REASON_CHARS = 1000;
const MAX_ID_CHARS = 256;

/**
 * The message attributes of a dead-lettered message.
 *
 * @example
 * deadLetterAttributes({ source: 'sender', reason: 'unknown tenant acme', messageId: 'n-1' }, Date.now())
 */
export function deadLetterAttributes(info: DeadLetterInfo, nowMs: number): Record<string, MessageAttributeValue> {
  const text = (v: string, max: number) => ({ DataType: 'String', StringValue: v.slice(0, max) || '-' });
  return {
    reason: text(info.reason, MAX_REASON_CHARS),
    source: text(info.source, MAX_ID_CHARS),
    failedAt: text(new Date(nowMs).toISOString(), MAX_ID_CHARS),
    ...(info.tenantId ? { tenantId: text(info.tenantId, MAX_ID_CHARS) } : {}),
    ...(info.messageId ? { messageId: text(info.messageId, MAX_ID_CHARS) } : {}),
    ...(info.sqsMessageId ? { sqsMessageId: text(info.sqsMessageId, MAX_ID_CHARS) } : {}),
    ...(info.receiveCount ? { receiveCount: { DataType: 'Number', StringValue: String(info.receiveCount) } } : {}),
  };
}

/**
 * Reads the layout back from a received DLQ message's attributes (CLI, tests).
 *
 * @example
 * const { reason, messageId } = readDeadLetter(m.MessageAttributes);
 */
export function readDeadLetter(attrs: Record<string, MessageAttributeValue> | undefined): Partial<DeadLetterInfo> & { failedAt?: string } {
  const s = (k: string) => attrs?.[k]?.StringValue;
  const count = Number(s('receiveCount'));
  return {
    reason: s('reason'),
    source: s('source') as DeadLetterInfo['source'] | undefined,
    failedAt: s('failedAt'),
    tenantId: s('tenantId'),
    messageId: s('messageId'),
    sqsMessageId: s('sqsMessageId'),
    ...(Number.isFinite(count) && count > 0 ? { receiveCount: count } : {}),
  };
}
