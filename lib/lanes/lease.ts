import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { clientIdOfLane, laneKey, LANES_PK } from '../contracts/tableKeys';
import { tryConditionalOld, type Table } from '../store/table';

/** How long a lease lasts without renewal: a holder that dies blocks its app's lane this long at most. */
export const LEASE_MS = 30_000;

/** The arrival bounds of an app's last calls, per API (what the next holder must respect). */
export type RecentCalls = Partial<Record<string, number[]>>;

/** A lease held: renew it before `until`, release it when done. */
export interface Lease {
  clientId: string;
  holder: string;
  until: number;
  /** What the previous holder left: its last calls' bounds, on its clock. */
  recent: RecentCalls;
  /** The process (instance id) that left them. */
  recentFrom?: string;
}

/**
 * The lease of an app's lane (docs/DESIGN.md, "Shaping"): one holder at a time sends the app's robot
 * calls, so it can pace them locally without a DynamoDB write per call. A holder that dies loses it
 * after {@link LEASE_MS}. One conditional write to take it, one to give it back (with the bounds of
 * its last calls for the next holder).
 *
 * @example
 * const lease = await acquireLease(table, 'dingabc', holderId, Date.now());
 * if (lease) try { ... } finally { await releaseLease(table, lease, pacers.recent()); }
 */
export async function acquireLease(table: Table, clientId: string, holder: string, now: number, leaseMs = LEASE_MS): Promise<Lease | undefined> {
  const until = now + leaseMs;
  try {
    const r = await table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: laneKey(clientId),
        UpdateExpression: 'SET holder = :h, #until = :u',
        ConditionExpression: 'attribute_not_exists(holder) OR #until < :now OR holder = :h',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':h': holder, ':u': until, ':now': now },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const a = r.Attributes ?? {};
    return { clientId, holder, until, recent: (a.recent as RecentCalls | undefined) ?? {}, recentFrom: a.recentFrom as string | undefined };
  } catch (e) {
    if ((e as { name?: string }).name === 'ConditionalCheckFailedException') return undefined;
    throw e;
  }
}

/** Extends a lease held; false when it was lost (expired and taken). */
export async function renewLease(table: Table, lease: Lease, now: number, leaseMs = LEASE_MS): Promise<boolean> {
  const until = now + leaseMs;
  const r = await tryConditionalOld(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: laneKey(lease.clientId),
        UpdateExpression: 'SET #until = :u',
        ConditionExpression: 'holder = :h',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':h': lease.holder, ':u': until },
      }),
    ),
  );
  if (r.applied) lease.until = until;
  return r.applied;
}

/** Gives a lease back, leaving the bounds of the last calls for the next holder. */
export async function releaseLease(table: Table, lease: Lease, recent: RecentCalls, from = ''): Promise<void> {
  await tryConditionalOld(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: laneKey(lease.clientId),
        UpdateExpression: 'SET recent = :r, recentFrom = :f REMOVE holder',
        ConditionExpression: 'holder = :h',
        ExpressionAttributeValues: { ':h': lease.holder, ':r': recent, ':f': from },
      }),
    ),
  );
}

/** Every app that ever had a lane, with whether a holder died holding it (its lease ran out unreleased). */
export async function listLanes(table: Table, now: number): Promise<Array<{ clientId: string; stale: boolean; held: boolean }>> {
  const out: Array<{ clientId: string; stale: boolean; held: boolean }> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await table.doc.send(new QueryCommand({ TableName: table.name, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': LANES_PK }, ExclusiveStartKey: start }));
    for (const it of r.Items ?? []) {
      const held = typeof it.holder === 'string';
      out.push({ clientId: clientIdOfLane(String(it.sk)), held, stale: held && Number(it.until) < now });
    }
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/** Who holds an app's lane now, and until when (nothing when it is free). */
export async function readLane(table: Table, clientId: string): Promise<{ holder?: string; until?: number }> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: laneKey(clientId), ConsistentRead: true }));
  return { holder: r.Item?.holder as string | undefined, until: r.Item?.until as number | undefined };
}
