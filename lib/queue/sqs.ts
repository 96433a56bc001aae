import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

/** Sends one JSON message; `delaySeconds` (0-900) postpones its first delivery. */
export async function sendJson(sqs: SQSClient, queueUrl: string, body: unknown, delaySeconds?: number): Promise<string> {
  const r = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body), DelaySeconds: delaySeconds }));
  return r.MessageId!;
}
