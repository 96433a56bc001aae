import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { rawNumber, tryConditionalOld, ttlAfter, type Table } from '../store/table';
import { ContentionError } from './errors';
import { DEFAULT_LATE_TOLERANCE_MS, planSlots, safetyMsFor, spacingMs } from './gcra';
import { rateKey } from '../contracts/tableKeys';
import { waitForSlot } from './pacing';
import { realSleep, systemClock, type Clock, type Sleep } from '../util/time';

/** What is limited: one DingTalk API of one app (QPS is per app per API). */
export interface RateKey {
  clientId: string;
  /** A stable API name, e.g. `robot.batchSend`, `token`, `getbymobile`. */
  api: string;
}

export interface RateLimiterOptions {
  /** Extra spacing per qps calls; see gcra.ts. Default safetyMsFor({ lateToleranceMs }): 60 ms. */
  safetyMs?: number;
  /** Fire tolerance the pacing helpers use; must match the budget behind safetyMs. Default 8 ms. */
  lateToleranceMs?: number;
  /** Never hand out a slot further than this after now; answer retryAfterMs instead. Default 3000 ms. */
  horizonMs?: number;
  /** First slot no earlier than now + leadMs, so it is still ahead when the write returns. Default 25 ms. */
  leadMs?: number;
  /** Conditional-write attempts before giving up with {@link ContentionError}. Default 30. */
  maxAttempts?: number;
  clock?: Clock;
  sleep?: Sleep;
}

/**
 * Slot times (epoch ms, ascending) to fire calls at, possibly fewer than asked when the horizon
 * is reached; or none and `retryAfterMs` (> 0), the least time before a slot could be granted.
 */
export interface Reservation {
  slots: number[];
  retryAfterMs: number;
}

const DAY_SECONDS = 86_400;

/**
 * A rate limiter shared by every instance through one DynamoDB item per (app, API): the GCRA
 * theoretical arrival time `tat`, advanced by a write conditioned on the value it was planned
 * from. One successful write reserves several slots; on a conflict DynamoDB returns the current
 * item with the failure, so a retry costs no read. The last tat seen is cached per instance: tat
 * only grows, so a cached value is a safe lower bound.
 *
 * @example
 * const limiter = new RateLimiter(table);
 * const key = { clientId: tenant.clientId, api: 'robot.batchSend' };
 * const { slots, retryAfterMs } = await limiter.reserve(key, messages.length, limitsOf(tenant).qps);
 * if (retryAfterMs) return deferMessages(retryAfterMs);
 * for (const slot of slots) if (await limiter.waitForSlot(slot)) void send(next()); // a late slot: reserve again
 */
export class RateLimiter {
  readonly safetyMs: number;
  readonly lateToleranceMs: number;
  readonly horizonMs: number;
  readonly leadMs: number;
  private readonly maxAttempts: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly seen = new Map<string, number>();

  constructor(private readonly table: Table, opts: RateLimiterOptions = {}) {
    this.lateToleranceMs = opts.lateToleranceMs ?? DEFAULT_LATE_TOLERANCE_MS;
    this.safetyMs = opts.safetyMs ?? safetyMsFor({ lateToleranceMs: this.lateToleranceMs });
    this.horizonMs = opts.horizonMs ?? 3000;
    this.leadMs = opts.leadMs ?? 25;
    this.maxAttempts = opts.maxAttempts ?? 30;
    this.clock = opts.clock ?? systemClock;
    this.sleep = opts.sleep ?? realSleep;
  }

  /**
   * Reserves up to `n` consecutive slots for `key` at `qps`, in one conditional write.
   * `now` pins the time (tests); otherwise the clock is read at every attempt.
   *
   * @example
   * const r = await limiter.reserve({ clientId: 'dingabc', api: 'robot.batchSend' }, 5, 20);
   * // r.slots: up to 5 times 53 ms apart; r.retryAfterMs: 0, or > 0 with no slots
   */
  async reserve(key: RateKey, n: number, qps: number, now?: number, notBefore = 0): Promise<Reservation> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
    const spacing = spacingMs(qps, this.safetyMs);
    const k = rateKey(key.clientId, key.api);
    const id = k.pk;
    let tat = this.seen.get(id);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const t = now ?? this.clock();
      const earliest = Math.max(t + this.leadMs, notBefore);
      const plan = planSlots({ tat, earliest, now: t, n, spacing, horizonMs: this.horizonMs });
      if (plan.tat === undefined) return { slots: [], retryAfterMs: plan.retryAfterMs };
      // When tat is behind `earliest` the plan starts at `earliest` whatever tat exactly is,
      // so the write only needs tat <= earliest; otherwise it must be the tat we planned from.
      const idle = tat === undefined || tat <= earliest;
      const r = await tryConditionalOld(
        this.table.doc.send(
          new UpdateCommand({
            TableName: this.table.name,
            Key: k,
            UpdateExpression: 'SET tat = :tat, spacing = :spacing, expiresAt = :exp',
            ConditionExpression: idle ? 'attribute_not_exists(tat) OR tat <= :earliest' : 'tat = :prev',
            ExpressionAttributeValues: {
              ':tat': plan.tat,
              ':spacing': spacing,
              ':exp': ttlAfter(plan.tat, DAY_SECONDS),
              ...(idle ? { ':earliest': earliest } : { ':prev': tat }),
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      if (r.applied) {
        this.seen.set(id, plan.tat);
        return { slots: plan.slots, retryAfterMs: 0 };
      }
      tat = rawNumber(r.old, 'tat') ?? (await this.read(k));
      if (tat !== undefined) this.seen.set(id, tat);
    }
    throw new ContentionError(`rate limiter ${id}`, this.maxAttempts);
  }

  /**
   * Sleeps until `slot`; false when the clock is already past it by more than the tolerance.
   *
   * @example
   * if (await limiter.waitForSlot(slot)) fire(); else reReserve();
   */
  waitForSlot(slot: number): Promise<boolean> {
    return waitForSlot(slot, this.clock, this.sleep, this.lateToleranceMs);
  }

  private async read(key: { pk: string; sk: string }): Promise<number | undefined> {
    const r = await this.table.doc.send(new GetCommand({ TableName: this.table.name, Key: key, ConsistentRead: true }));
    const tat = r.Item?.tat;
    return typeof tat === 'number' ? tat : undefined;
  }
}
