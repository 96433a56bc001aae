import { DEFERRED_CODE, DingTalkError, type DingTalkApi, type DingTalkResult } from '../dingtalk/errors';
import type { Table } from '../store/table';
import type { CallGate, GateCall } from './gate';
import { markExhausted, release, reserveCalls } from './quota';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { spacingMs } from './gcra';
import type { RateLimiter } from './rateLimiter';
import { realSleep, systemClock, type Clock, type Sleep } from './types';

/** The limits in force for a tenant (its overrides, else its edition's). */
export type LimitsOf = (tenantId: string) => Promise<{ qps: number; monthlyQuota: number }>;

export interface ShapingGateOptions {
  table: Table;
  limiter: RateLimiter;
  limits: LimitsOf;
  /** Hold a call in this invocation for a slot at most this far away; further, it is deferred. Default 500 ms. */
  maxWaitMs?: number;
  /** Most slots one limiter write reserves for the calls waiting here. Default 10. */
  slotsPerWrite?: number;
  reservePercent?: number;
  /** Where `CallsSent`, `Throttled`, `Deferred` and `QuotaUsedPercent` go (Powertools metrics). */
  metrics?: Pick<Metrics, 'addMetric'>;
  clock?: Clock;
  sleep?: Sleep;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

interface SlotQueue {
  waiters: Waiter[];
  pumping: boolean;
}

/**
 * The CallGate that holds every tenant under DingTalk's limits, shared by every Lambda instance:
 *
 * - **QPS per app per API**: the DynamoDB rate limiter hands out slot times; calls waiting in this
 *   instance for the same (app, API) share one limiter write, and each call fires at its slot.
 *   A slot that is too far away (the app's backlog) fails the call as `deferred` (not made), so
 *   the sender re-queues the message with a delay and serves other tenants meanwhile.
 * - **Monthly quota per organisation**: a counted call reserves one call on the counter before it
 *   is made (never past the quota; the last reservePercent only for `critical`); a call DingTalk
 *   did not count (QPS rejection, refused token, its quota error) is given back; DingTalk's quota
 *   error marks the organisation exhausted until the month turns.
 *
 * @example
 * const gate = new ShapingGate({ table, limiter: new RateLimiter(table), limits: cachedLimits });
 * const sender = createSender({ ..., gate });
 */
export class ShapingGate implements CallGate {
  private readonly queues = new Map<string, SlotQueue>();
  private readonly held = new WeakMap<GateCall, string>();
  private readonly admitted = new Map<string, number>();
  private readonly maxWaitMs: number;
  private readonly slotsPerWrite: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;

  constructor(private readonly opts: ShapingGateOptions) {
    this.maxWaitMs = opts.maxWaitMs ?? 500;
    this.slotsPerWrite = opts.slotsPerWrite ?? 10;
    this.clock = opts.clock ?? systemClock;
    this.sleep = opts.sleep ?? realSleep;
  }

  /**
   * How long until `api` of this tenant's app could get a slot, judged locally (0: go ahead).
   * The sender asks before doing any work for a message, so a backlogged tenant's messages are
   * deferred without a DynamoDB call.
   */
  async waitEstimate(tenantId: string, clientId: string, api: DingTalkApi): Promise<number> {
    const { qps } = await this.opts.limits(tenantId);
    const now = this.clock();
    const key = `${clientId}|${api}`;
    // What this instance last saw of the shared limiter, plus the messages it admitted since:
    // records of one batch are prechecked together, before any of them reserved a slot.
    const start = Math.max(now + this.opts.limiter.peek({ clientId, api }, now), this.admitted.get(key) ?? 0);
    const wait = Math.max(0, Math.ceil(start - now));
    if (wait > this.maxWaitMs) return wait;
    this.admitted.set(key, start + spacingMs(qps, this.opts.limiter.safetyMs));
    return 0;
  }

  async before(call: GateCall): Promise<void> {
    const limits = await this.opts.limits(call.tenantId);
    // The quota write runs while the call waits for its slot: it never delays a fire.
    const quota = call.counted ? this.reserveQuota(call, limits.monthlyQuota) : Promise.resolve(undefined);
    const slot = this.slot(call.clientId, call.api, limits.qps);
    const [q, s] = await Promise.allSettled([quota, slot]);
    const month = q.status === 'fulfilled' ? q.value : undefined;
    if (s.status === 'rejected') this.opts.metrics?.addMetric('Deferred', MetricUnit.Count, 1);
    if (q.status === 'rejected' || s.status === 'rejected') {
      if (month) await release(this.opts.table, call.corpId, 1, month);
      throw q.status === 'rejected' ? q.reason : (s as PromiseRejectedResult).reason;
    }
    if (month) this.held.set(call, month);
  }

  async after(call: GateCall, result: DingTalkResult<unknown>): Promise<void> {
    const month = this.held.get(call);
    this.held.delete(call);
    if (result.kind === 'ok' && call.counted) this.opts.metrics?.addMetric('CallsSent', MetricUnit.Count, 1);
    if (result.kind === 'retryable' && result.cause === 'qps') this.opts.metrics?.addMetric('Throttled', MetricUnit.Count, 1);
    if (!month) return;
    const notCounted = result.kind === 'refreshToken' || result.kind === 'quotaExhausted' || (result.kind === 'retryable' && result.cause === 'qps');
    if (result.kind === 'quotaExhausted') await markExhausted(this.opts.table, call.corpId, month, this.clock());
    if (notCounted) await release(this.opts.table, call.corpId, 1, month);
  }

  private async reserveQuota(call: GateCall, quota: number): Promise<string> {
    const g = await reserveCalls(this.opts.table, call.corpId, 1, { quota, severity: call.severity, reservePercent: this.opts.reservePercent }, this.clock());
    if (g.granted > 0) {
      this.opts.metrics?.addMetric('QuotaUsedPercent', MetricUnit.Percent, Math.round((g.used / Math.max(1, quota)) * 1000) / 10);
      return g.month;
    }
    throw new DingTalkError(
      { kind: 'quotaExhausted', code: `local.quota.${g.reason ?? 'quota_reached'}`, message: `monthly quota: ${g.reason ?? 'quota_reached'} (${g.used}/${quota} used in ${g.month})` },
      call.api,
    );
  }

  private slot(clientId: string, api: DingTalkApi, qps: number): Promise<void> {
    const key = `${clientId}|${api}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { waiters: [], pumping: false }));
    const queue = q;
    return new Promise<void>((resolve, reject) => {
      queue.waiters.push({ resolve, reject });
      void this.pump(queue, clientId, api, qps);
    });
  }

  /** Reserves slots for the waiters of one (app, API), several per write, and fires each at its slot. */
  private async pump(q: SlotQueue, clientId: string, api: DingTalkApi, qps: number): Promise<void> {
    if (q.pumping) return;
    q.pumping = true;
    try {
      while (q.waiters.length) {
        const batch = q.waiters.splice(0, this.slotsPerWrite);
        let r;
        try {
          r = await this.opts.limiter.reserve({ clientId, api }, batch.length, qps);
        } catch (e) {
          for (const w of batch) w.reject(e);
          continue;
        }
        const deferAll = (waitMs: number) => {
          const err = new DingTalkError(
            { kind: 'retryable', code: DEFERRED_CODE, message: `no rate-limit slot for ${waitMs} ms`, cause: 'deferred', retryAfterMs: waitMs },
            api,
          );
          for (const w of [...batch, ...q.waiters.splice(0)]) w.reject(err);
        };
        if (r.slots.length === 0) {
          if (r.retryAfterMs > this.maxWaitMs) {
            deferAll(r.retryAfterMs);
            continue;
          }
          q.waiters.unshift(...batch);
          await this.sleep(r.retryAfterMs);
          continue;
        }
        const granted = batch.splice(0, r.slots.length);
        granted.forEach((w, i) => void this.fireAt(r.slots[i], w, q, clientId, api, qps));
        // The rest would wait past the last granted slot: hold them only if that is soon.
        const nextIn = r.slots[r.slots.length - 1] - this.clock();
        if (batch.length && nextIn > this.maxWaitMs) deferAll(nextIn);
        else q.waiters.unshift(...batch);
      }
    } finally {
      q.pumping = false;
    }
  }

  private async fireAt(slot: number, w: Waiter, q: SlotQueue, clientId: string, api: DingTalkApi, qps: number): Promise<void> {
    if (await this.opts.limiter.waitForSlot(slot)) return w.resolve();
    // Woke too late: firing now would crowd the call qps slots later. Wait for a new slot.
    q.waiters.push(w);
    void this.pump(q, clientId, api, qps);
  }
}
