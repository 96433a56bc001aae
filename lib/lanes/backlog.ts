import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { BACKLOG_SOURCE } from '../sender/createSender';
import { backlogPk, backlogSk } from '../contracts/tableKeys';
import { batchWriteAll, type Table } from '../store/table';
import { firstQueuedAt } from '../queue/sqs';

/** A message waiting in its app's backlog: the SQS record's body and what the sender needs of it. */
export interface BacklogItem {
  sk: string;
  body: string;
  tenantId: string;
  /** The notify message's own id (two copies of one message share it). */
  messageId: string;
  /** The SQS message id it came with (unique). */
  sqsMessageId: string;
  receiveCount: number;
  /** Epoch ms it first reached the notify queue (firstQueuedAt: SQS SentTimestamp, or a re-queued copy's first). */
  sentAt: number;
}

/**
 * An app's backlog (docs/DESIGN.md, "Shaping"): the messages its lane's holder sends at the app's
 * pace, critical first, then the oldest. Written and deleted 25 per request; read a page at a time.
 *
 * @example
 * await addToBacklog(table, 'dingabc', [{ body, tenantId, sqsMessageId, receiveCount: 1, sentAt, critical: false }]);
 * const page = await backlogPage(table, 'dingabc', 100);
 */
export async function addToBacklog(
  table: Table,
  clientId: string,
  messages: ReadonlyArray<Omit<BacklogItem, 'sk'> & { critical: boolean }>,
  now: number = Date.now(),
): Promise<void> {
  const items = messages.map(({ critical, ...m }) => ({ pk: backlogPk(clientId), sk: backlogSk(critical, now, m.sqsMessageId), type: 'backlog', ...m }));
  await batchWriteAll(table, items.map((Item) => ({ PutRequest: { Item } })));
}

/** The first `limit` messages of the backlog, in sending order. */
export async function backlogPage(table: Table, clientId: string, limit: number): Promise<BacklogItem[]> {
  const r = await table.doc.send(
    new QueryCommand({ TableName: table.name, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': backlogPk(clientId) }, ConsistentRead: true, Limit: limit }),
  );
  return (r.Items ?? []).map((it) => ({
    sk: String(it.sk),
    body: String(it.body),
    tenantId: String(it.tenantId),
    messageId: String(it.messageId ?? ''),
    sqsMessageId: String(it.sqsMessageId),
    receiveCount: Number(it.receiveCount ?? 1),
    sentAt: Number(it.sentAt ?? 0),
  }));
}

/** Removes messages the holder is done with (sent, dead-lettered, parked, or handed back to the queue). */
export async function removeFromBacklog(table: Table, clientId: string, sks: readonly string[]): Promise<void> {
  await batchWriteAll(table, sks.map((sk) => ({ DeleteRequest: { Key: { pk: backlogPk(clientId), sk } } })));
}

/** Epoch ms the item was written to the backlog (from its sort key). */
export const addedAt = (b: BacklogItem): number => Number(b.sk.split('#')[1]);

/** Which message a backlog item carries (two copies of one message share it). */
export const backlogKeyOf = (b: BacklogItem): string => messageKeyFor(b.tenantId, b.messageId);

/** One notify message, whichever copy carries it (from SQS or from a backlog). */
export const messageKeyFor = (tenantId: string, messageId: string): string => `${tenantId}#${messageId}`;

/** What a backlog item keeps of the SQS record it came from. */
export const fromRecord = (record: SQSRecord, now: number): Pick<BacklogItem, 'body' | 'sqsMessageId' | 'receiveCount' | 'sentAt'> => ({
  body: record.body,
  sqsMessageId: record.messageId,
  receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1,
  sentAt: firstQueuedAt(record) ?? now,
});

/** A backlog item as the sender's record (no receipt handle: see BACKLOG_SOURCE). */
export function backlogRecord(item: BacklogItem): SQSRecord {
  return {
    messageId: item.sqsMessageId,
    receiptHandle: '',
    body: item.body,
    attributes: { ApproximateReceiveCount: String(item.receiveCount), SentTimestamp: String(item.sentAt), SenderId: '', ApproximateFirstReceiveTimestamp: '' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: BACKLOG_SOURCE,
    eventSourceARN: '',
    awsRegion: '',
  };
}
