import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { eventCountKey } from '../contracts/tableKeys';
import type { Table } from './table';

/**
 * Inbound DingTalk events per organisation per China-time month (DingTalk counts pushes against
 * the organisation's monthly event quota): item {@link eventCountKey}, attribute `count`.
 */

/**
 * Adds one event to the organisation's count for `month` (`YYYY-MM`, see chinaMonth); returns the new count.
 *
 * @example
 * await countEvent(table, 'ding-corp', chinaMonth(Date.now()), Date.now()) // 1, 2, ...
 */
export async function countEvent(table: Table, corpId: string, month: string, nowMs: number): Promise<number> {
  const r = await table.doc.send(
    new UpdateCommand({
      TableName: table.name,
      Key: eventCountKey(corpId, month),
      UpdateExpression: 'ADD #count :one SET #type = :type, corpId = :corpId, #month = :month, updatedAt = :now',
      ExpressionAttributeNames: { '#count': 'count', '#type': 'type', '#month': 'month' },
      ExpressionAttributeValues: { ':one': 1, ':type': 'eventCount', ':corpId': corpId, ':month': month, ':now': new Date(nowMs).toISOString() },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(r.Attributes?.count ?? 0);
}

/**
 * The organisation's event count for `month` (0 when none).
 *
 * @example
 * await getEventCount(table, 'ding-corp', '2026-05') // 42
 */
export async function getEventCount(table: Table, corpId: string, month: string): Promise<number> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: eventCountKey(corpId, month), ConsistentRead: true }));
  return Number(r.Item?.count ?? 0);
}
