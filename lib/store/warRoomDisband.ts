import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { warRoomKey } from '../contracts/tableKeys';
import { isConditionalFailure, tryConditional, type Table } from './table';

/**
 * The claim of a war room's disband (docs/two-way.md, "War rooms that follow the responders"):
 * `disbandAttemptId` / `disbandClaimedAt` (epoch ms) on the war room, written before the
 * `scenegroup/disband` call, so two dismisses at once (a duplicate delivery, or two messages) make
 * one call: the other waits for it instead of drawing DingTalk's `paramIllegal` and taking the
 * group for unknown. A claim older than the lease was left by an attempt that died during the call:
 * it is taken over, and the group may be gone already.
 */

/**
 * Claims the disband for `attemptId`: `claimed` when the war room is not dismissed and no other
 * attempt holds a claim made at or after `staleBefore` (epoch ms); `tookOver` when the claim replaced
 * another attempt's stale one (read from the item as it was just before this write, not earlier).
 *
 * @example
 * const c = await claimWarRoomDisband(table, 'acme', 'inc-1', attemptId, Date.now(), Date.now() - CLAIM_LEASE_MS);
 * if (c.claimed) disband();
 */
export async function claimWarRoomDisband(
  table: Table,
  tenantId: string,
  incidentId: string,
  attemptId: string,
  nowMs: number,
  staleBefore: number,
): Promise<{ claimed: boolean; tookOver: boolean }> {
  try {
    const r = await table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: warRoomKey(tenantId, incidentId),
        UpdateExpression: 'SET #a = :a, #c = :now',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#d) AND (attribute_not_exists(#c) OR #c < :stale OR #a = :a)',
        ExpressionAttributeNames: { '#a': 'disbandAttemptId', '#c': 'disbandClaimedAt', '#d': 'dismissedAt' },
        ExpressionAttributeValues: { ':a': attemptId, ':now': nowMs, ':stale': staleBefore },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = r.Attributes ?? {};
    return { claimed: true, tookOver: old.disbandClaimedAt !== undefined && old.disbandAttemptId !== attemptId };
  } catch (e) {
    if (isConditionalFailure(e)) return { claimed: false, tookOver: false };
    throw e;
  }
}

/** Gives the claim back (the call failed for sure), while `attemptId` still holds it. */
export async function releaseWarRoomDisband(table: Table, tenantId: string, incidentId: string, attemptId: string): Promise<void> {
  await tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: warRoomKey(tenantId, incidentId),
        UpdateExpression: 'REMOVE #a, #c',
        ConditionExpression: '#a = :a',
        ExpressionAttributeNames: { '#a': 'disbandAttemptId', '#c': 'disbandClaimedAt' },
        ExpressionAttributeValues: { ':a': attemptId },
      }),
    ),
  );
}
