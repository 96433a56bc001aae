import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { pressKey } from '../contracts/tableKeys';
import { tryConditional, ttlAfter, type Table } from './table';

/**
 * Card button presses seen (docs/two-way.md, "The card callback", step 5): `PRESS#<tenantId>` /
 * `<timestamp>#<userId>`, kept a day. DingTalk signs only the timestamp, so a second request with
 * the same signed timestamp and user is a replay.
 */
export const PRESS_TTL_SECONDS = 24 * 3600;

/**
 * Records a press; false when the same (timestamp, userId) was recorded before (a replay).
 *
 * @example
 * if (!(await recordPress(table, 'acme', '1796000000000', 'u1', { outTrackId, action }, Date.now()))) throw new ReplayError();
 */
export async function recordPress(table: Table, tenantId: string, timestamp: string, userId: string, what: Record<string, unknown>, nowMs: number): Promise<boolean> {
  return tryConditional(
    table.doc.send(
      new PutCommand({
        TableName: table.name,
        Item: { ...pressKey(tenantId, timestamp, userId), type: 'press', ...what, receivedAt: new Date(nowMs).toISOString(), expiresAt: ttlAfter(nowMs, PRESS_TTL_SECONDS) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
  );
}
