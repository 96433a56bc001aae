import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { readDeadLetter } from '../contracts/deadLetter';
import { QUEUES } from '../contracts/deployment';
import type { EnvName } from '../contracts/env';
import { sendText } from './sqs';

/**
 * The dead-letter queues as an operator sees them (docs/DESIGN.md, "Contracts"): each queue's DLQ is
 * found from the queue's own redrive policy, so the queue URLs are all a tool needs, and a message
 * always goes back to the queue whose DLQ holds it.
 */

export type QueueName = keyof typeof QUEUES;

/** The variable holding each queue's URL (lib/contracts/env.ts; stack outputs `<Name>QueueUrl`). */
export const QUEUE_VARIABLES: Record<QueueName, EnvName> = { notify: 'NOTIFY_QUEUE_URL', events: 'EVENTS_QUEUE_URL', drain: 'DRAIN_QUEUE_URL', actions: 'ACTIONS_QUEUE_URL' };

export const QUEUE_NAMES = Object.keys(QUEUE_VARIABLES) as QueueName[];

export interface DeadLetterQueue {
  queue: QueueName;
  /** Where its messages came from and go back to. */
  sourceUrl: string;
  url: string;
  /** The source queue's MaximumMessageSize: a longer body can never go back. */
  maxMessageBytes: number;
}

/** One received dead letter: what it is and why it is here, from its attributes and body. */
export interface DeadLetter {
  queue: QueueName;
  sqsMessageId: string;
  receiptHandle: string;
  body: string;
  /** The bridge's `reason` attribute, or what SQS's own redrive means. */
  reason: string;
  /** notify: `notify` / `war_room.create`; events: the event type; drain: `drain`. */
  kind?: string;
  tenantId?: string;
  /** notify: its id; events: the eventId; drain: the app's clientId. */
  id?: string;
  /** The message group it goes back with (the tenantId; the clientId for drain requests). */
  groupId?: string;
  /** Epoch ms: when it was dead-lettered (`failedAt`), else when it was first sent. */
  since: number;
}

/** The SQS default, and AWS's maximum, MaximumMessageSize. */
const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * A queue's dead-letter queue, from its RedrivePolicy.
 *
 * @example
 * const dlq = await findDeadLetterQueue(sqs, 'notify', process.env.NOTIFY_QUEUE_URL!);
 */
export async function findDeadLetterQueue(sqs: SQSClient, queue: QueueName, sourceUrl: string): Promise<DeadLetterQueue> {
  const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: sourceUrl, AttributeNames: ['RedrivePolicy', 'MaximumMessageSize'] }));
  const arn = a.RedrivePolicy ? (JSON.parse(a.RedrivePolicy) as { deadLetterTargetArn?: string }).deadLetterTargetArn : undefined;
  if (!arn) throw new Error(`the ${queue} queue ${sourceUrl} has no dead-letter queue (no RedrivePolicy)`);
  // arn:aws:sqs:<region>:<account>:<name>
  const [, , , , account, name] = arn.split(':');
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }));
  return { queue, sourceUrl, url: QueueUrl!, maxMessageBytes: Number(a.MaximumMessageSize) || SQS_MAX_MESSAGE_BYTES };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** What each queue's body says about itself (read without validating it). */
const IDS: Record<QueueName, (b: Record<string, unknown>) => Pick<DeadLetter, 'kind' | 'tenantId' | 'id' | 'groupId'>> = {
  notify: (b) => ({ kind: str(b.kind), tenantId: str(b.tenantId), id: str(b.id), groupId: str(b.tenantId) }),
  events: (b) => ({ kind: str(b.eventType), tenantId: str(b.tenantId), id: str(b.eventId), groupId: str(b.tenantId) }),
  drain: (b) => ({ kind: 'drain', id: str(b.clientId), groupId: str(b.clientId) }),
  actions: (b) => ({ kind: str(b.action), tenantId: str(b.tenantId), id: str(b.id), groupId: str(b.tenantId) }),
};

function toDeadLetter(queue: QueueName, m: Message): DeadLetter {
  const body = m.Body ?? '';
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const fromBody = json && typeof json === 'object' && !Array.isArray(json) ? IDS[queue](json as Record<string, unknown>) : {};
  const info = readDeadLetter(m.MessageAttributes);
  const failedAt = info.failedAt ? Date.parse(info.failedAt) : NaN;
  return {
    ...fromBody,
    queue,
    sqsMessageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body,
    reason: info.reason ?? `no reason recorded: SQS moved it after ${QUEUES[queue].maxReceiveCount} receives that failed (see the ${queue} function's log)`,
    ...(info.tenantId ? { tenantId: info.tenantId } : {}),
    ...(info.messageId ? { id: info.messageId } : {}),
    since: Number.isFinite(failedAt) ? failedAt : Number(m.Attributes?.SentTimestamp ?? 0),
  };
}

export interface ReadOptions {
  /** How long each received message stays hidden from other readers while the caller handles it. */
  hideSeconds: number;
  /** Stop after this many messages. */
  max?: number;
  /** Long poll of each receive, so an empty answer means empty (default 1 s). */
  waitSeconds?: number;
  /**
   * Only messages that reached the DLQ before this (epoch ms; SQS SentTimestamp): a message that
   * fails again while the caller redrives comes back as a new message, and is left for next time
   * instead of being taken round again and again. Later ones are made visible again at once.
   */
  before?: number;
}

/**
 * The DLQ's messages, a page (up to 10) at a time, each message once: it stops at an empty
 * receive, at `max`, or when a receive brings back only messages it gave already (hidden ones
 * that reappeared). Nothing is deleted: what the caller does not delete reappears after
 * `hideSeconds`, or at once after {@link showAgain}.
 *
 * @example
 * for await (const page of readDeadLetters(sqs, dlq, { hideSeconds: 30 })) seen.push(...page);
 */
export async function* readDeadLetters(sqs: SQSClient, dlq: DeadLetterQueue, opts: ReadOptions): AsyncGenerator<DeadLetter[]> {
  const seen = new Set<string>();
  const max = opts.max ?? Infinity;
  while (seen.size < max) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq.url,
        MaxNumberOfMessages: Math.min(10, max - seen.size),
        VisibilityTimeout: opts.hideSeconds,
        WaitTimeSeconds: opts.waitSeconds ?? 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp'],
        // The older name too: the local SQS server returns SentTimestamp only for this one.
        AttributeNames: ['All'],
      }),
    );
    const late = (m: Message) => opts.before !== undefined && Number(m.Attributes?.SentTimestamp ?? 0) >= opts.before;
    // Given already (or arrived late): this receive hid it again; it is shown again at once.
    const again = (r.Messages ?? []).filter((m) => seen.has(m.MessageId!) || late(m));
    if (again.length) await showAgain(sqs, dlq, again.map((m) => toDeadLetter(dlq.queue, m)));
    const fresh = (r.Messages ?? []).filter((m) => !seen.has(m.MessageId!));
    if (!fresh.length) return;
    for (const m of fresh) seen.add(m.MessageId!);
    const page = fresh.filter((m) => !late(m)).map((m) => toDeadLetter(dlq.queue, m));
    if (page.length) yield page;
  }
}

/**
 * Makes received dead letters visible again at once (best effort: a message whose receipt went
 * stale simply reappears when its hiding ends).
 *
 * @example
 * await showAgain(sqs, dlq, listed);
 */
export async function showAgain(sqs: SQSClient, dlq: DeadLetterQueue, letters: readonly DeadLetter[]): Promise<void> {
  for (let i = 0; i < letters.length; i += 10) {
    const Entries = letters.slice(i, i + 10).map((l, n) => ({ Id: String(n), ReceiptHandle: l.receiptHandle, VisibilityTimeout: 0 }));
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: dlq.url, Entries }));
  }
}

/**
 * Sends a dead letter back to its queue (body unchanged, in its message group), and only then
 * deletes it from the DLQ: a failure on the way leaves it in the DLQ, never lost (at worst, a
 * failed delete leaves a copy in both).
 *
 * @example
 * await moveBack(sqs, dlq, letter);
 */
export async function moveBack(sqs: SQSClient, dlq: DeadLetterQueue, letter: DeadLetter): Promise<string> {
  const messageId = await sendText(sqs, dlq.sourceUrl, letter.body, { groupId: letter.groupId });
  await sqs.send(new DeleteMessageCommand({ QueueUrl: dlq.url, ReceiptHandle: letter.receiptHandle }));
  return messageId;
}

/**
 * About how many messages the DLQ holds, visible or not (SQS's approximate counts).
 *
 * @example
 * io.out(`about ${await countDeadLetters(sqs, dlq)} dead letters`);
 */
export async function countDeadLetters(sqs: SQSClient, dlq: DeadLetterQueue): Promise<number> {
  const { Attributes: a = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/**
 * Deletes received dead letters (after they were received: SQS's PurgeQueue would take up to a
 * minute, and once a minute per queue).
 *
 * @example
 * for await (const page of readDeadLetters(sqs, dlq, { hideSeconds: 300 })) await deleteDeadLetters(sqs, dlq, page);
 */
export async function deleteDeadLetters(sqs: SQSClient, dlq: DeadLetterQueue, letters: readonly DeadLetter[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < letters.length; i += 10) {
    const Entries = letters.slice(i, i + 10).map((l, n) => ({ Id: String(n), ReceiptHandle: l.receiptHandle }));
    const r = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlq.url, Entries }));
    deleted += r.Successful?.length ?? 0;
  }
  return deleted;
}
