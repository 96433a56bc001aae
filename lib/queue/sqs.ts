import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

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

/** Sends one JSON message; `delaySeconds` (0-900) postpones its first delivery. */
export async function sendJson(sqs: SQSClient, queueUrl: string, body: unknown, delaySeconds?: number): Promise<string> {
  return sendText(sqs, queueUrl, sqsJson(body), delaySeconds);
}

/** Sends a body as it is (a message handed back unchanged), with an optional first-delivery delay. */
export async function sendText(sqs: SQSClient, queueUrl: string, body: string, delaySeconds?: number, numbers?: Record<string, number>): Promise<string> {
  const MessageAttributes = numbers && Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, { DataType: 'Number', StringValue: String(v) }]));
  const r = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds, MessageAttributes }));
  return r.MessageId!;
}

/**
 * Whether SQS refused a message for what it is (invalid characters, too large), so sending it again
 * cannot help; throttling, 5xx and network errors are not.
 */
export function isPermanentSendError(err: unknown): boolean {
  const e = err as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.$fault !== 'client') return false;
  return !/Throttl|RequestThrottled|OverLimit|KmsThrottled/i.test(e.name ?? '');
}
