import { randomUUID } from 'node:crypto';
import { DeleteCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { sqsJson } from '../queue/sqs';
import { tryConditional, type Table } from '../store/table';
import { chinaMonth } from '../util/chinaTime';
import { PARKED_ORGS_PK, parkedCountKey, parkedOrgKey, parkKey, parkPk, parkSk } from '../contracts/tableKeys';
import { countAttribute, parkExpiry } from './parkedCount';

/**
 * Messages the monthly quota cannot carry, kept in DynamoDB until the month turns or the quota is
 * raised: item `PARK#<corpId>` / `<0|1>#<parkedAt>#<messageId>` (critical first, then oldest),
 * expiring (TTL `expiresAt`) 7 days after the next China-time month begins (lib/quota/parkedCount.ts),
 * the organisation listed in the `PARKED` partition, so the unpark sweep finds it without scanning
 * the table, and counted in `ORG#<corpId>` / `PARKED`, so the homepage counts without reading the items.
 *
 * Parking always writes a new item: a message parked again while an unpark sweep holds its earlier
 * copy (re-queued, not yet acknowledged) gets an item of its own, and the sweep's acknowledgement
 * removes only the copy it leased. So no sequence of park and unpark deletes the only copy; a copy
 * re-queued twice is harmless because the sender never sends a recipient DingTalk answered for again.
 *
 * Taking is two-phase so a crash cannot lose a message: {@link takeParked} claims with a
 * conditional write (a lease no other instance can take while it runs), the caller re-enqueues,
 * then {@link ackParked} removes the item with a conditional delete. A claimer that dies leaves
 * the lease to expire and the message is taken again.
 */

export interface ParkedMessage<T = unknown> {
  corpId: string;
  messageId: string;
  /** The item's sort key (see {@link parkSk}). */
  sk: string;
  /** China-time month it was parked in. */
  month: string;
  /** Epoch ms. */
  parkedAt: number;
  reason: string;
  critical: boolean;
  /** The message as parked (JSON text), for re-queueing unchanged. */
  body: string;
  /** The parsed body; undefined when the stored text is not JSON (a poison item). */
  message: T;
  /** When it expires (epoch seconds, TTL); absent on items parked before expiry existed. */
  expiresAt?: number;
  /** Present on claimed messages (from takeParked, or leased ones in listParked). */
  lease?: { id: string; until: number };
}

type Item = Record<string, unknown>;

const parseOrUndefined = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const fromItem = <T>(item: Item): ParkedMessage<T> => ({
  corpId: String(item.corpId),
  messageId: String(item.messageId),
  sk: String(item.sk),
  month: String(item.month),
  parkedAt: Number(item.parkedAt),
  reason: String(item.reason),
  critical: item.critical === true,
  body: String(item.body),
  message: parseOrUndefined(String(item.body)) as T,
  ...(typeof item.expiresAt === 'number' ? { expiresAt: item.expiresAt } : {}),
  ...(typeof item.leaseId === 'string' ? { lease: { id: item.leaseId, until: Number(item.leaseUntil) } } : {}),
});

/**
 * Parks a message that cannot be sent for quota: a new item (critical ones are taken first), and
 * the organisation on the unpark sweep's work list.
 *
 * @example
 * if (grant.granted === 0) await park(table, tenant.corpId, msg, grant.reason ?? 'quota', { tenantId: tenant.tenantId, critical });
 */
export async function park<T extends { id: string }>(
  table: Table,
  corpId: string,
  message: T,
  reason: string,
  opts: { tenantId: string; critical: boolean; now?: number },
): Promise<void> {
  const now = opts.now ?? Date.now();
  const expiresAt = parkExpiry(now);
  // The item and its listing (with the count of its expiry day) in one transaction: a sweep that
  // finds nothing parked and forgets the organisation is refused by the new `parks`.
  await table.doc.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: table.name,
            Item: {
              ...parkKey(corpId, parkSk(opts.critical, now, message.id)),
              type: 'parked',
              corpId,
              messageId: message.id,
              month: chinaMonth(now),
              parkedAt: now,
              expiresAt,
              reason,
              critical: opts.critical,
              body: sqsJson(message),
            },
          },
        },
        {
          Update: {
            TableName: table.name,
            Key: parkedOrgKey(corpId),
            UpdateExpression: 'SET corpId = :corp, lastParkedAt = :now ADD tenantIds :tenant, parks :one',
            ExpressionAttributeValues: { ':corp': corpId, ':now': now, ':tenant': new Set([opts.tenantId]), ':one': 1 },
          },
        },
        countUpdate(table, corpId, expiresAt, 1),
      ],
    }),
  );
}

/** An organisation on the unpark sweep's work list. */
export interface ParkedOrg {
  corpId: string;
  /** Tenants whose messages it parked (their quotas set the organisation's). */
  tenantIds: string[];
  lastParkedAt: number;
  /** Parks so far: changes with every park, so a sweep never forgets an organisation that parked since it looked. */
  parks: number;
}

/**
 * The organisations that have (or recently had) parked messages: one Query, no table scan.
 *
 * @example
 * for (const org of await parkedOrgs(table)) await sweep(org);
 */
export async function parkedOrgs(table: Table): Promise<ParkedOrg[]> {
  const out: ParkedOrg[] = [];
  let start: Item | undefined;
  do {
    const r = await table.doc.send(
      new QueryCommand({ TableName: table.name, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': PARKED_ORGS_PK }, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    for (const i of r.Items ?? []) out.push({ corpId: String(i.corpId), tenantIds: [...((i.tenantIds as Set<string> | undefined) ?? [])].sort(), lastParkedAt: Number(i.lastParkedAt), parks: Number(i.parks ?? 0) });
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/**
 * Takes an organisation off the work list once nothing of it is parked, unless it parked again
 * since `seen` was read (then it stays). True when removed.
 */
export async function forgetParkedOrg(table: Table, seen: ParkedOrg): Promise<boolean> {
  if ((await countParked(table, seen.corpId)) > 0) return false;
  return tryConditional(
    table.doc.send(
      new DeleteCommand({ TableName: table.name, Key: parkedOrgKey(seen.corpId), ConditionExpression: 'parks = :seen', ExpressionAttributeValues: { ':seen': seen.parks } }),
    ),
  );
}

async function* pages(table: Table, corpId: string, extra: { select?: 'COUNT' } = {}) {
  let start: Item | undefined;
  do {
    const r = await table.doc.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': parkPk(corpId) },
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ...(extra.select ? { Select: extra.select } : {}),
      }),
    );
    yield r;
    start = r.LastEvaluatedKey;
  } while (start);
}

/**
 * Every parked message of the organisation, critical first, then oldest.
 *
 * @example
 * const parked = await listParked(table, corpId);
 */
export async function listParked<T = unknown>(table: Table, corpId: string): Promise<ParkedMessage<T>[]> {
  const out: ParkedMessage<T>[] = [];
  for await (const page of pages(table, corpId)) for (const item of page.Items ?? []) out.push(fromItem<T>(item));
  return out;
}

/**
 * How many messages the organisation has parked (for the usage report).
 *
 * @example
 * await countParked(table, corpId) // 42
 */
export async function countParked(table: Table, corpId: string): Promise<number> {
  let n = 0;
  for await (const page of pages(table, corpId, { select: 'COUNT' })) n += page.Count ?? 0;
  return n;
}

export interface TakeOptions {
  now?: number;
  /** How long the claim keeps other instances away; longer than re-enqueueing takes. Default 5 min. */
  leaseMs?: number;
}

/**
 * Claims up to `limit` parked messages, critical first, then oldest, with a conditional write per message, so
 * two instances never hold the same one. Re-enqueue them, then {@link ackParked}.
 *
 * @example
 * const taken = await takeParked(table, corpId, 50);
 * await enqueueAll(taken.map((p) => p.message));
 * await ackParked(table, taken);
 */
export async function takeParked<T = unknown>(table: Table, corpId: string, limit: number, opts: TakeOptions = {}): Promise<ParkedMessage<T>[]> {
  if (limit <= 0) return [];
  const now = opts.now ?? Date.now();
  const lease = { id: randomUUID(), until: now + (opts.leaseMs ?? 300_000) };
  const taken: ParkedMessage<T>[] = [];
  for await (const page of pages(table, corpId)) {
    // Expired items (DynamoDB deletes them within days of their TTL) are never sent.
    const free = (page.Items ?? []).filter((i) => !(Number(i.leaseUntil) > now) && !(Number(i.expiresAt) * 1000 <= now));
    // Claim in rounds of what is still missing: items another instance won are skipped.
    for (let at = 0; at < free.length && taken.length < limit; ) {
      const round = free.slice(at, at + limit - taken.length);
      at += round.length;
      const claimed = await Promise.all(round.map((item) => claim(table, item, lease, now)));
      for (const item of claimed) if (item) taken.push({ ...fromItem<T>(item), lease });
    }
    if (taken.length >= limit) break;
  }
  return taken;
}

async function claim(table: Table, item: Item, lease: { id: string; until: number }, now: number): Promise<Item | undefined> {
  const claimed = await tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: { pk: item.pk, sk: item.sk },
        UpdateExpression: 'SET leaseId = :id, leaseUntil = :until',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil <= :now)',
        ExpressionAttributeValues: { ':id': lease.id, ':until': lease.until, ':now': now },
      }),
    ),
  );
  return claimed ? item : undefined;
}

/**
 * Removes messages taken with {@link takeParked} once they are re-enqueued: a conditional delete
 * that only succeeds while this claim holds the lease. Returns how many were removed (a message
 * whose lease expired and was taken again is left to its new claimer).
 *
 * @example
 * await ackParked(table, taken);
 */
export async function ackParked(table: Table, taken: readonly ParkedMessage[]): Promise<number> {
  const done = await Promise.all(taken.map((p) => tryConditional(removeParked(table, p))));
  return done.filter(Boolean).length;
}

/**
 * The update adding `n` to an organisation's parked count of the items expiring at `expiresAt`.
 *
 * @example
 * countUpdate(table, 'dingcorp', parkExpiry(Date.now()), -1)
 */
export const countUpdate = (table: Table, corpId: string, expiresAt: number, n: number) => ({
  Update: {
    TableName: table.name,
    Key: parkedCountKey(corpId),
    UpdateExpression: 'SET corpId = :corp ADD #day :n',
    ExpressionAttributeNames: { '#day': countAttribute(expiresAt) },
    ExpressionAttributeValues: { ':corp': corpId, ':n': n },
  },
});

/** Deletes a leased item and, in the same transaction, takes it off its organisation's count. */
async function removeParked(table: Table, p: ParkedMessage): Promise<unknown> {
  const del = { TableName: table.name, Key: parkKey(p.corpId, p.sk), ConditionExpression: 'leaseId = :id', ExpressionAttributeValues: { ':id': p.lease?.id ?? '' } };
  if (p.expiresAt === undefined) {
    // Read before it had an expiry (parked by older code): uncounted then, but the migration may
    // have given it one and counted it since, so the deleted item says whether to uncount it.
    const r = await table.doc.send(new DeleteCommand({ ...del, ReturnValues: 'ALL_OLD' }));
    const expiresAt = r.Attributes?.expiresAt;
    if (typeof expiresAt === 'number') await table.doc.send(new UpdateCommand(countUpdate(table, p.corpId, expiresAt, -1).Update));
    return r;
  }
  return table.doc
    .send(new TransactWriteCommand({ TransactItems: [{ Delete: del }, countUpdate(table, p.corpId, p.expiresAt, -1)] }))
    .catch((e: { name?: string; CancellationReasons?: Array<{ Code?: string }> }) => {
      // The lease was lost: reported as the plain conditional delete reports it.
      if (e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') throw Object.assign(new Error('lease lost'), { name: 'ConditionalCheckFailedException' });
      throw e;
    });
}

/**
 * Gives back messages taken with {@link takeParked} but not re-enqueued (they did not fit the
 * quota yet): their lease is dropped so the next sweep may take them at once.
 *
 * @example
 * await unleaseParked(table, taken.filter((p) => !fits(p)));
 */
export async function unleaseParked(table: Table, taken: readonly ParkedMessage[]): Promise<void> {
  await Promise.all(
    taken.map((p) =>
      tryConditional(
        table.doc.send(
          new UpdateCommand({
            TableName: table.name,
            Key: parkKey(p.corpId, p.sk),
            UpdateExpression: 'REMOVE leaseId, leaseUntil',
            ConditionExpression: 'leaseId = :id',
            ExpressionAttributeValues: { ':id': p.lease?.id ?? '' },
          }),
        ),
      ),
    ),
  );
}
