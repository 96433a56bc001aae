import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { rawNumber, tryConditional, tryConditionalOld, ttlAfter, type Table } from '../store/table';
import { chinaMonth, chinaMonthEnd, monthStart } from '../util/chinaTime';
import { ContentionError } from '../shaping/errors';
import { quotaKey } from '../contracts/tableKeys';
import type { Severity } from '../contracts/notifyMessage';

/**
 * Monthly call counter per organisation (corpId) per China-time month, item
 * `ORG#<corpId>` / `QUOTA#<YYYY-MM>` with `used`, the last `quota` seen and `exhaustedAt`.
 *
 * Crash safety: a reservation counts as used the moment it is granted. A call that surely did
 * not reach DingTalk's counter is given back with {@link release}; an instance that dies between
 * reserving and sending leaks its reservation, so the counter can only over-count (by at most
 * what one invocation held: reserve per message or per small batch, just before sending), never
 * under-count, and the quota is never passed. DingTalk's own quota error
 * ({@link markExhausted}) covers the opposite drift.
 */

export const DEFAULT_RESERVE_PERCENT = 5;


const KEEP_AFTER_MONTH_SECONDS = 400 * 86_400;

export interface QuotaPolicy {
  /** Calls per month for the organisation: limitsOf(tenant).monthlyQuota. */
  quota: number;
  /** The last part of the quota only `critical` messages may use. Default 5. */
  reservePercent?: number;
  /** Default `info` (non-critical). */
  severity?: Severity;
}

/** Why fewer calls than asked were granted. */
export type QuotaDenial = 'exhausted' | 'quota_reached' | 'reserved_for_critical';

export interface QuotaGrant {
  /** The month the calls were counted in: pass it to {@link release}. */
  month: string;
  granted: number;
  /** Calls counted this month after the grant (as far as this call saw). */
  used: number;
  /** Set when granted < requested. */
  reason?: QuotaDenial;
}

export interface QuotaUsage {
  month: string;
  used: number;
  /** The quota the last reservation was checked against, when there was one this month. */
  quota?: number;
  exhausted: boolean;
  exhaustedAt?: string;
  /**
   * Calls counted when DingTalk first answered with its quota error this month: DingTalk's real limit
   * for the organisation, when it is below the configured quota (its edition figures have changed before).
   */
  observedLimit?: number;
}

/**
 * Calls held back for critical messages: reservePercent of the quota, rounded up.
 *
 * @example
 * reserveOf(10_000) // 500
 */
export function reserveOf(quota: number, reservePercent: number = DEFAULT_RESERVE_PERCENT): number {
  if (!(reservePercent >= 0 && reservePercent <= 100)) throw new RangeError(`reservePercent must be 0..100, got ${reservePercent}`);
  return Math.ceil((quota * reservePercent) / 100);
}

/**
 * The count `used` may reach for a message of this severity.
 *
 * @example
 * limitFor({ quota: 10_000 }) // 9500
 * limitFor({ quota: 10_000, severity: 'critical' }) // 10000
 */
export function limitFor(p: QuotaPolicy): number {
  return p.severity === 'critical' ? p.quota : p.quota - reserveOf(p.quota, p.reservePercent);
}

const denialFor = (p: QuotaPolicy, used: number): QuotaDenial =>
  p.severity === 'critical' || used >= p.quota ? 'quota_reached' : 'reserved_for_critical';

/**
 * Atomically reserves up to `n` calls of this month's quota before making them; never lets
 * `used` pass the severity's limit. Grants fewer when fewer are left (e.g. 15 of 20), 0 with a
 * reason when none are, or when the month was marked exhausted.
 *
 * @example
 * const g = await reserveCalls(table, tenant.corpId, 20, { quota: limitsOf(tenant).monthlyQuota, severity: 'warning' });
 * // send g.granted calls, park the rest; release(table, corpId, unsent, g.month) for calls that never reached DingTalk
 */
export async function reserveCalls(table: Table, corpId: string, n: number, policy: QuotaPolicy, now: number = Date.now()): Promise<QuotaGrant> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  const month = chinaMonth(now);
  const limit = limitFor(policy);
  let used: number | undefined;
  for (let attempt = 0; attempt < 30; attempt++) {
    const want = Math.min(n, limit - (used ?? 0));
    if (want <= 0) return { month, granted: 0, used: used ?? 0, reason: denialFor(policy, used ?? 0) };
    const write = table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: quotaKey(corpId, month),
        UpdateExpression: 'ADD used :want SET quota = :quota, expiresAt = :exp',
        ConditionExpression: '(attribute_not_exists(used) OR used <= :max) AND attribute_not_exists(exhaustedAt)',
        ExpressionAttributeValues: {
          ':want': want,
          ':max': limit - want,
          ':quota': policy.quota,
          ':exp': ttlAfter(chinaMonthEnd(now), KEEP_AFTER_MONTH_SECONDS),
        },
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const r = await tryConditionalOld(write);
    if (r.applied) {
      const after = Number((await write).Attributes?.used ?? want);
      return { month, granted: want, used: after, ...(want < n ? { reason: denialFor(policy, after) } : {}) };
    }
    if (r.old?.exhaustedAt) return { month, granted: 0, used: rawNumber(r.old, 'used') ?? 0, reason: 'exhausted' };
    used = rawNumber(r.old, 'used') ?? (await usage(table, corpId, now)).used;
  }
  throw new ContentionError(`quota ORG#${corpId}`, 30);
}

/**
 * Gives back `n` reserved calls that DingTalk surely did not count (QPS rejection, 5xx, a
 * connection that failed before the request was sent). Not for timeouts after sending: those may
 * have been counted. `month` is the grant's month, so a release after the month turned still
 * lands on the right counter. Returns false (and changes nothing) if it would go below zero.
 *
 * @example
 * const g = await reserveCalls(table, corpId, 1, policy);
 * try { await send(); } catch (e) { if (notCounted(e)) await release(table, corpId, g.granted, g.month); }
 */
export async function release(table: Table, corpId: string, n: number, month: string): Promise<boolean> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (n === 0) return true;
  return tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: quotaKey(corpId, month),
        UpdateExpression: 'ADD used :minus',
        ConditionExpression: 'used >= :n',
        ExpressionAttributeValues: { ':minus': -n, ':n': n },
      }),
    ),
  );
}

/**
 * Records that DingTalk answered with its monthly quota error (ApiCountLimitForOrg / 90020): every
 * reservation is refused until the China-time month turns (a new counter item). The first mark of
 * the month also keeps `observedLimit`: the calls counted at that moment, DingTalk's real limit,
 * which it returns.
 *
 * @example
 * if (result.kind === 'quotaExhausted') await markExhausted(table, corpId, chinaMonth(Date.now()));
 */
export async function markExhausted(table: Table, corpId: string, month: string, now: number = Date.now()): Promise<number> {
  const seen = await table.doc.send(new GetCommand({ TableName: table.name, Key: quotaKey(corpId, month), ConsistentRead: true }));
  const r = await table.doc.send(
    new UpdateCommand({
      TableName: table.name,
      Key: quotaKey(corpId, month),
      UpdateExpression: 'SET exhaustedAt = if_not_exists(exhaustedAt, :at), observedLimit = if_not_exists(observedLimit, :used), expiresAt = if_not_exists(expiresAt, :exp)',
      ExpressionAttributeValues: { ':at': new Date(now).toISOString(), ':used': Number(seen.Item?.used ?? 0), ':exp': ttlAfter(chinaMonthEnd(monthStart(month)), KEEP_AFTER_MONTH_SECONDS) },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(r.Attributes?.observedLimit ?? seen.Item?.observedLimit ?? seen.Item?.used ?? 0);
}

/**
 * Lifts {@link markExhausted} for the month, after DingTalk raised the organisation's quota.
 *
 * @example
 * await clearExhausted(table, corpId, '2026-03');
 */
export async function clearExhausted(table: Table, corpId: string, month: string): Promise<void> {
  await tryConditional(
    table.doc.send(
      new UpdateCommand({ TableName: table.name, Key: quotaKey(corpId, month), UpdateExpression: 'REMOVE exhaustedAt, observedLimit', ConditionExpression: 'attribute_exists(pk)' }),
    ),
  );
}

/**
 * This China-time month's counter for the organisation (strongly consistent read).
 *
 * @example
 * const { used, exhausted } = await usage(table, corpId);
 */
export async function usage(table: Table, corpId: string, now: number = Date.now()): Promise<QuotaUsage> {
  const month = chinaMonth(now);
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: quotaKey(corpId, month), ConsistentRead: true }));
  const item = r.Item ?? {};
  return {
    month,
    used: Number(item.used ?? 0),
    ...(typeof item.quota === 'number' ? { quota: item.quota } : {}),
    exhausted: typeof item.exhaustedAt === 'string',
    ...(typeof item.exhaustedAt === 'string' ? { exhaustedAt: item.exhaustedAt } : {}),
    ...(typeof item.observedLimit === 'number' ? { observedLimit: item.observedLimit } : {}),
  };
}
