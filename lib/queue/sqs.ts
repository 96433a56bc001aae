import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/**
 * Characters an SQS message body may not carry raw (SQS accepts #x9 #xA #xD #x20-#xD7FF
 * #xE000-#xFFFD #x10000-#x10FFFF): other control characters, lone surrogates, U+FFFE and U+FFFF.
 */
const SQS_REFUSED = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * JSON text SQS accepts: `JSON.stringify`, with every character SQS refuses written as a `\uXXXX`
 * escape (the same JSON value; JSON.stringify leaves U+FFFE and U+FFFF raw).
 *
 * @example
 * sqsJson({ title: 'a\uFFFEb' }) // '{"title":"a\\ufffeb"}'
 */
export const sqsJson = (value: unknown): string => JSON.stringify(value).replace(SQS_REFUSED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export interface SendOptions {
  /** Postpones the first delivery, 0-900 s. */
  delaySeconds?: number;
  /** Number message attributes. */
  numbers?: Record<string, number>;
  /**
   * The SQS message group: the tenantId on every message the bridge puts on a queue, so that SQS
   * fair queues serve quiet tenants first while one tenant has a backlog (docs/DESIGN.md, "Contracts").
   */
  groupId?: string;
}

/**
 * Sends one JSON message (written with {@link sqsJson}).
 *
 * @example
 * await sendJson(sqs, queueUrl, event, { groupId: event.tenantId });
 */
export async function sendJson(sqs: SQSClient, queueUrl: string, body: unknown, opts: SendOptions = {}): Promise<string> {
  return sendText(sqs, queueUrl, sqsJson(body), opts);
}

/** Sends a body as it is (a message handed back unchanged). */
export async function sendText(sqs: SQSClient, queueUrl: string, body: string, opts: SendOptions = {}): Promise<string> {
  const MessageAttributes = opts.numbers && Object.fromEntries(Object.entries(opts.numbers).map(([k, v]) => [k, { DataType: 'Number', StringValue: String(v) }]));
  const r = await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: opts.delaySeconds, MessageAttributes, ...(opts.groupId ? { MessageGroupId: opts.groupId } : {}) }),
  );
  return r.MessageId!;
}

/**
 * Whether SQS refused a message for what it is (invalid characters, too large), so sending it again
 * cannot help; throttling, 5xx and network errors are not.
 */
export function isPermanentSendError(err: unknown): boolean {
  const e = err as { name?: string; $fault?: string };
  // Only what is wrong with the message itself; access, missing queues or credentials are the
  // operator's to fix, and the message must wait for that, not go to the DLQ.
  return e?.$fault === 'client' && /^(InvalidMessageContents|MessageTooLong|InvalidParameterValue)$/.test(e.name ?? '');
}

/** Number attribute a re-queued copy carries: when its message first reached the notify queue. */
export const FIRST_QUEUED_AT = 'firstQueuedAt';

/**
 * Epoch ms a message first reached its queue: a copy the bridge re-queued (a deferral, a retry from
 * a backlog) carries it in {@link FIRST_QUEUED_AT}; any other message, its SQS SentTimestamp. So
 * the page latency metric counts from the first arrival, not from the last copy.
 *
 * @example
 * firstQueuedAt(record) // 1796000000000
 */
export function firstQueuedAt(record: Pick<SQSRecord, 'attributes' | 'messageAttributes'>): number | undefined {
  const kept = Number(record.messageAttributes?.[FIRST_QUEUED_AT]?.stringValue);
  if (Number.isFinite(kept) && kept > 0) return kept;
  return Number(record.attributes?.SentTimestamp) || undefined;
}
