import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { actionKey } from '../contracts/tableKeys';
import { tryConditional, tryConditionalOld, ttlAfter, type Table } from './table';

/**
 * The actions function's idempotency record (docs/two-way.md, "Actions to Flashduty"):
 * `ACTION#<tenantId>#<id>` / `ACTION`, kept 30 days. `pending` while an instance holds the claim (a
 * lease, so a duplicate delivered meanwhile waits instead of handing the action over too),
 * `handing` from just before the hand-over (same lease), `handed` once it was: a redelivered action
 * is then skipped. A hand-over that failed goes back to `pending`. A `handing` record whose lease
 * ran out was left by a delivery that handed the action over but could not record it (or died in
 * the middle): it counts as handed, never as something to hand over again.
 */
export const ACTION_TTL_SECONDS = 30 * 24 * 3600;
/** How long a pending claim holds off other deliveries of the same action (more than a call's timeouts). */
export const ACTION_LEASE_MS = 60_000;

export type ActionClaim = 'claimed' | 'handed' | 'unrecorded' | 'busy';

/**
 * Claims the action for this delivery: `claimed` (go on), `handed` (already done: skip),
 * `unrecorded` (a `handing` record with its lease run out: handed over, the record not updated) or
 * `busy` (another delivery holds a live claim: try later).
 *
 * @example
 * if ((await claimAction(table, 'acme', id, Date.now())) === 'handed') return;
 */
export async function claimAction(table: Table, tenantId: string, id: string, nowMs: number): Promise<ActionClaim> {
  const r = await tryConditionalOld(
    table.doc.send(
      new PutCommand({
        TableName: table.name,
        Item: { ...actionKey(tenantId, id), type: 'action', state: 'pending', leaseUntil: nowMs + ACTION_LEASE_MS, claimedAt: new Date(nowMs).toISOString(), expiresAt: ttlAfter(nowMs, ACTION_TTL_SECONDS) },
        ConditionExpression: 'attribute_not_exists(pk) OR (#s = :pending AND leaseUntil < :now)',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':pending': 'pending', ':now': nowMs },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    ),
  );
  if (r.applied) return 'claimed';
  const state = r.old?.state?.S;
  if (state === 'handed') return 'handed';
  return state === 'handing' && Number(r.old?.leaseUntil?.N ?? 0) < nowMs ? 'unrecorded' : 'busy';
}

/**
 * Records that the hand-over begins (`pending` -> `handing`, lease kept). After this write a
 * delivery that cannot say how the hand-over ended leaves a record that counts as handed.
 */
export async function markHanding(table: Table, tenantId: string, id: string, nowMs: number): Promise<void> {
  await table.doc.send(
    new UpdateCommand({
      TableName: table.name,
      Key: actionKey(tenantId, id),
      UpdateExpression: 'SET #s = :handing, handingAt = :at, leaseUntil = :lease',
      ConditionExpression: '#s = :pending',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':handing': 'handing', ':pending': 'pending', ':at': new Date(nowMs).toISOString(), ':lease': nowMs + ACTION_LEASE_MS },
    }),
  );
}

/** Marks the action handed over (how: `queue` or `api`). */
export async function markHanded(table: Table, tenantId: string, id: string, via: string, nowMs: number): Promise<void> {
  await table.doc.send(
    new UpdateCommand({
      TableName: table.name,
      Key: actionKey(tenantId, id),
      UpdateExpression: 'SET #s = :handed, via = :via, handedAt = :at REMOVE leaseUntil',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':handed': 'handed', ':via': via, ':at': new Date(nowMs).toISOString() },
    }),
  );
}

/** Gives the claim back (a failed hand-over: `pending` again), so a retry need not wait for the lease. */
export async function releaseAction(table: Table, tenantId: string, id: string): Promise<void> {
  await tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: actionKey(tenantId, id),
        UpdateExpression: 'SET leaseUntil = :zero, #s = :pending',
        ConditionExpression: '#s IN (:pending, :handing)',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':zero': 0, ':pending': 'pending', ':handing': 'handing' },
      }),
    ),
  );
}

