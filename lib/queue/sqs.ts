import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

/** Sends one JSON message; `delaySeconds` (0-900) postpones its first delivery. */
export async function sendJson(sqs: SQSClient, queueUrl: string, body: unknown, delaySeconds?: number): Promise<string> {
  return sendText(sqs, queueUrl, JSON.stringify(body), delaySeconds);
}

/** Sends a body as it is (a message handed back unchanged), with an optional first-delivery delay. */
export async function sendText(sqs: SQSClient, queueUrl: string, body: string, delaySeconds?: number, numbers?: Record<string, number>): Promise<string> {
  const MessageAttributes = numbers && Object.fromEntries(Object.entries(numbers).map(([k, v]) => [k, { DataType: 'Number', StringValue: String(v) }]));
  const r = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds, MessageAttributes }));
  return r.MessageId!;
}
