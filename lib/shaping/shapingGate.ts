import { DEFERRED_CODE, DingTalkError, type DingTalkApi, type DingTalkResult } from '../dingtalk/errors';
import type { Table } from '../store/table';
import type { CallGate, GateCall } from '../dingtalk/callGate';
import { markExhausted, release, reserveCalls } from '../quota/counter';
import { chinaMonth } from '../util/chinaTime';
import { logger } from '../log';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { TENANT_METRICS } from '../contracts/deployment';
import type { TenantMetricsSink } from '../metrics';
import type { RateLimiter } from './rateLimiter';
import { realSleep, systemClock, type Clock, type Sleep } from '../util/time';
import type { PacedCall } from './windowPacer';

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
  /**
   * Calls of quota reserved per counter write for a paced call (under a lane): the rest wait in this
   * process for the lane's next calls, and are given back by {@link ShapingGate.releaseUnused}
   * when the lane is. Default: the app's QPS (one write a second at full speed). A process that dies
   * holding some leaves them counted as used until the month turns (they park pages a little early,
   * never let a call past the quota).
   */
  quotaBlock?: number;
  /**
   * The pacer of an app's API while this process holds the app's lane (lib/lanes): its calls are
   * paced locally, with no limiter write. Absent (or undefined for a call): the shared limiter.
   */
  pacerFor?: (clientId: string, api: DingTalkApi) => CallPacer | undefined;
  /** Where `QuotaBelowConfigured` goes (Powertools metrics). */
  metrics?: Pick<Metrics, 'addMetric'>;
  /** Where `CallsSent`, `Throttled`, `Deferred` and `QuotaUsedPercent` go, per tenant (lib/metrics.ts). */
  tenantMetrics?: TenantMetricsSink;
  clock?: Clock;
  sleep?: Sleep;
}

/** Paces calls locally (a WindowPacer held under the app's lane lease). */
export interface CallPacer {
  /** Waits for the call's turn and records its start; undefined when it cannot start in time (not made). */
  start(): Promise<PacedCall | undefined>;
  finish(call: PacedCall): void;
}

interface Waiter {
  /** Past this time (epoch ms) the waiter is turned away (deferred) rather than held. */
  deadline: number;
  resolve(slot: number): void;
  reject(e: unknown): void;
}

interface SlotQueue {
  waiters: Waiter[];
  pumping: boolean;
}

/**
 * The CallGate that holds every tenant under DingTalk's limits, shared by every Lambda instance:
 *
 * - **QPS per app per API**: robot calls made under the app's lane lease are paced locally by its
 *   WindowPacer (no DynamoDB write per call); any other call takes a slot from the DynamoDB rate
 *   limiter, which hands out slot times; calls waiting in this
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
  private readonly paced = new WeakMap<GateCall, { pacer: CallPacer; call: PacedCall }>();
  /** Quota reserved and not used yet, per organisation, app and severity class. */
  private readonly quotaPool = new Map<string, { corpId: string; clientId: string; month: string; left: number }>();
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

  async before(call: GateCall): Promise<void> {
    const limits = await this.opts.limits(call.tenantId);
    // The quota first, then the slot: nothing may stand between the slot check and the call, or
    // a slow write would make it fire late (and crowd the call qps slots later).
    const pacer = this.opts.pacerFor?.(call.clientId, call.api);
    const month = call.counted ? await this.reserveQuota(call, limits.monthlyQuota, pacer ? this.opts.quotaBlock ?? limits.qps : 1) : undefined;
    try {
      if (pacer) await this.pacedStart(pacer, call);
      else await this.slot(call.clientId, call.api, limits.qps);
    } catch (e) {
      this.opts.tenantMetrics?.add(call.tenantId, TENANT_METRICS.deferred, 1);
      if (month) await release(this.opts.table, call.corpId, 1, month);
      throw e;
    }
    if (month) this.held.set(call, month);
  }

  async after(call: GateCall, result: DingTalkResult<unknown>): Promise<void> {
    const paced = this.paced.get(call);
    if (paced) paced.pacer.finish(paced.call);
    this.paced.delete(call);
    const month = this.held.get(call);
    this.held.delete(call);
    if (result.kind === 'ok' && call.counted) this.opts.tenantMetrics?.add(call.tenantId, TENANT_METRICS.callsSent, 1);
    if (result.kind === 'retryable' && result.cause === 'qps') this.opts.tenantMetrics?.add(call.tenantId, TENANT_METRICS.throttled, 1);
    if (!month) return;
    // Given back: calls DingTalk refused or never got (QPS, refused token, its quota error, 5xx,
    // a network failure, its HTML ban page). Kept: a timeout, which may have been counted.
    const notCounted =
      result.kind === 'refreshToken' || result.kind === 'quotaExhausted' || (result.kind === 'retryable' && result.cause !== 'timeout' && result.cause !== 'deferred');
    // Given back first, so the limit observed below counts only the calls DingTalk took.
    if (notCounted) await release(this.opts.table, call.corpId, 1, month);
    if (result.kind === 'quotaExhausted') await this.quotaRefused(call, month);
  }

  /**
   * DingTalk refused a call for its monthly quota: no more reservations this month; when that came
   * before the configured quota was reached, its real limit is logged and counted (`QuotaBelowConfigured`)
   * so the operator sets `monthlyQuota` to it.
   */
  private async quotaRefused(call: GateCall, month: string): Promise<void> {
    // What this process holds unused is not what DingTalk counted.
    for (const [key, p] of [...this.quotaPool]) if (p.corpId === call.corpId) await this.releasePooled(key, p);
    const observedLimit = await markExhausted(this.opts.table, call.corpId, month, this.clock());
    const limits = await this.opts.limits(call.tenantId);
    if (observedLimit < limits.monthlyQuota) {
      this.opts.metrics?.addMetric('QuotaBelowConfigured', MetricUnit.Count, 1);
      logger.warn('DingTalk refused for its monthly quota below the configured one: set monthlyQuota to its limit', {
        tenantId: call.tenantId,
        corpId: call.corpId,
        observedLimit,
        monthlyQuota: limits.monthlyQuota,
      });
    }
  }

  /**
   * Gives back the quota this process reserved for an app's calls and did not use (the app's lane is
   * given back). Failures are logged: those calls stay counted until the month turns.
   */
  async releaseUnused(clientId: string): Promise<void> {
    for (const [key, p] of [...this.quotaPool]) if (p.clientId === clientId) await this.releasePooled(key, p);
  }

  private async releasePooled(key: string, p: { corpId: string; month: string; left: number }): Promise<void> {
    this.quotaPool.delete(key);
    if (p.left > 0) await release(this.opts.table, p.corpId, p.left, p.month).catch((e: Error) => logger.error('could not give unused quota back', { corpId: p.corpId, calls: p.left, error: e }));
  }

  /** Reservations of one pool are made one at a time: concurrent calls would each reserve a block. */
  private readonly reserving = new Map<string, Promise<unknown>>();

  private reserveQuota(call: GateCall, quota: number, block: number): Promise<string> {
    const key = `${call.corpId}|${call.clientId}|${call.severity === 'critical' ? 'critical' : 'other'}`;
    const turn = (this.reserving.get(key) ?? Promise.resolve()).then(() => this.reserveQuotaNow(key, call, quota, block));
    const tail = turn.catch(() => undefined);
    this.reserving.set(key, tail);
    void tail.then(() => this.reserving.get(key) === tail && this.reserving.delete(key));
    return turn;
  }

  private async reserveQuotaNow(key: string, call: GateCall, quota: number, block: number): Promise<string> {
    const pooled = this.quotaPool.get(key);
    if (pooled && pooled.left > 0 && pooled.month === chinaMonth(this.clock())) {
      pooled.left--;
      return pooled.month;
    }
    if (pooled) await this.releasePooled(key, pooled);
    const g = await reserveCalls(this.opts.table, call.corpId, block, { quota, severity: call.severity, reservePercent: this.opts.reservePercent }, this.clock());
    if (g.granted > 0) {
      this.opts.tenantMetrics?.add(call.tenantId, TENANT_METRICS.quotaUsedPercent, Math.round((g.used / Math.max(1, quota)) * 1000) / 10);
      const cur = this.quotaPool.get(key);
      if (cur && cur.month === g.month) cur.left += g.granted - 1;
      else if (g.granted > 1) this.quotaPool.set(key, { corpId: call.corpId, clientId: call.clientId, month: g.month, left: g.granted - 1 });
      return g.month;
    }
    throw new DingTalkError(
      { kind: 'quotaExhausted', code: `local.quota.${g.reason ?? 'quota_reached'}`, message: `monthly quota: ${g.reason ?? 'quota_reached'} (${g.used}/${quota} used in ${g.month})` },
      call.api,
    );
  }

  private async pacedStart(pacer: CallPacer, call: GateCall): Promise<void> {
    const started = await pacer.start();
    if (!started) {
      throw new DingTalkError({ kind: 'retryable', code: DEFERRED_CODE, message: 'the lane lease ends before the call could start', cause: 'deferred', retryAfterMs: 1000 }, call.api);
    }
    this.paced.set(call, { pacer, call: started });
  }

  /** Waits for a slot from the shared limiter and returns at it. */
  private async slot(clientId: string, api: DingTalkApi, qps: number): Promise<void> {
    for (;;) {
      // Woke too late for a slot: firing now would crowd the call qps slots later. Take another.
      if (await this.opts.limiter.waitForSlot(await this.reserveSlot(clientId, api, qps))) return;
    }
  }

  /** A slot time from the shared limiter, reserved together with the other calls waiting here. */
  private reserveSlot(clientId: string, api: DingTalkApi, qps: number): Promise<number> {
    const key = `${clientId}|${api}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { waiters: [], pumping: false }));
    const queue = q;
    return new Promise<number>((resolve, reject) => {
      queue.waiters.push({ deadline: this.clock() + this.maxWaitMs, resolve, reject });
      void this.pump(queue, clientId, api, qps);
    });
  }

  /** Reserves slots for the waiters of one (app, API), several per write. */
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
          // Hold only the waiters whose slot can still come before their deadline.
          const retryAt = this.clock() + r.retryAfterMs;
          const all = [...batch, ...q.waiters.splice(0)];
          const late = all.filter((w) => w.deadline < retryAt);
          if (late.length) {
            const err = new DingTalkError(
              { kind: 'retryable', code: DEFERRED_CODE, message: `no rate-limit slot within ${this.maxWaitMs} ms`, cause: 'deferred', retryAfterMs: r.retryAfterMs + this.maxWaitMs },
              api,
            );
            for (const w of late) w.reject(err);
          }
          q.waiters.unshift(...all.filter((w) => w.deadline >= retryAt));
          if (q.waiters.length) await this.sleep(r.retryAfterMs);
          continue;
        }
        const granted = batch.splice(0, r.slots.length);
        granted.forEach((w, i) => w.resolve(r.slots[i]));
        // The rest wait past the last granted slot: hold only those whose deadline allows it.
        const nextAt = r.slots[r.slots.length - 1];
        const late = batch.filter((w) => w.deadline < nextAt);
        if (late.length) {
          const err = new DingTalkError(
            { kind: 'retryable', code: DEFERRED_CODE, message: `no rate-limit slot within ${this.maxWaitMs} ms`, cause: 'deferred', retryAfterMs: Math.max(1, Math.ceil(nextAt - this.clock())) },
            api,
          );
          for (const w of late) w.reject(err);
        }
        q.waiters.unshift(...batch.filter((w) => w.deadline >= nextAt));
      }
    } finally {
      q.pumping = false;
    }
  }

}
