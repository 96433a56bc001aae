import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { backlogPk, backlogSk } from '../contracts/tableKeys';
import type { Table } from '../store/table';
import { chunk } from '../util/lists';

/** A message waiting in its app's backlog: the SQS record's body and what the sender needs of it. */
export interface BacklogItem {
  sk: string;
  body: string;
  tenantId: string;
  /** The SQS message id it came with (unique). */
  sqsMessageId: string;
  receiveCount: number;
  /** Epoch ms it was sent to the notify queue (SQS SentTimestamp). */
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
  await writeAll(table, items.map((Item) => ({ PutRequest: { Item } })));
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
    sqsMessageId: String(it.sqsMessageId),
    receiveCount: Number(it.receiveCount ?? 1),
    sentAt: Number(it.sentAt ?? 0),
  }));
}

/** Removes messages the holder is done with (sent, dead-lettered, parked, or handed back to the queue). */
export async function removeFromBacklog(table: Table, clientId: string, sks: readonly string[]): Promise<void> {
  await writeAll(table, sks.map((sk) => ({ DeleteRequest: { Key: { pk: backlogPk(clientId), sk } } })));
}

type WriteRequest = NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string][number];

/** BatchWriteItem, 25 per request, with DynamoDB's unprocessed items written again (backing off). */
async function writeAll(table: Table, requests: WriteRequest[]): Promise<void> {
  for (const part of chunk(requests, 25)) {
    let pending = part;
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt === 8) throw new Error(`backlog: ${pending.length} writes left unprocessed by DynamoDB`);
      if (attempt) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      const r = await table.doc.send(new BatchWriteCommand({ RequestItems: { [table.name]: pending } }));
      pending = (r.UnprocessedItems?.[table.name] ?? []) as WriteRequest[];
    }
  }
}
