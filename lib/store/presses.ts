import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { pressKey } from '../contracts/tableKeys';
import { tryConditional, ttlAfter, type Table } from './table';

/**
 * Card button presses seen (docs/two-way.md, "The card callback", step 5): `PRESS#<tenantId>` /
 * `<timestamp>`, kept a day. DingTalk signs only the timestamp, so a second request with the same
 * signed timestamp is a replay, whatever user or card its body names.
 */
export const PRESS_TTL_SECONDS = 24 * 3600;

/**
 * Records a press; false when its signed timestamp was recorded before (a replay).
 *
 * @example
 * if (!(await recordPress(table, 'acme', '1796000000000', { userId, outTrackId, action }, Date.now()))) throw new ReplayError();
 */
export async function recordPress(table: Table, tenantId: string, timestamp: string, what: Record<string, unknown>, nowMs: number): Promise<boolean> {
  return tryConditional(
    table.doc.send(
      new PutCommand({
        TableName: table.name,
        Item: { ...pressKey(tenantId, timestamp), type: 'press', ...what, receivedAt: new Date(nowMs).toISOString(), expiresAt: ttlAfter(nowMs, PRESS_TTL_SECONDS) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  );
}

/** Forgets a press whose action could not be queued, so DingTalk's retry of it is not taken for a replay. */
export async function forgetPress(table: Table, tenantId: string, timestamp: string): Promise<void> {
  await table.doc.send(new DeleteCommand({ TableName: table.name, Key: pressKey(tenantId, timestamp) }));
}
