import type { NotifyQueueMessage } from '../contracts/notifyMessage';
import type { Table } from '../store/table';
import type { Tenant } from '../contracts/tenant';
import { limitsOf } from '../contracts/tenant';
import { safetyMsFor } from './gcra';
import { park } from '../quota/parking';
import { RateLimiter, type RateKey, type RateLimiterOptions } from './rateLimiter';
import { ShapingGate, type ShapingGateOptions } from './shapingGate';

export interface Shaping {
  gate: ShapingGate;
  /** For SenderDeps.precheck: defer a message whose app has a backlog, before any work. */
  precheck(msg: NotifyQueueMessage, deferrals: number): Promise<number>;
  /** For SenderDeps.park: a message the quota cannot carry waits in DynamoDB, not lost. */
  park(msg: NotifyQueueMessage, reason: string): Promise<void>;
}

/**
 * Everything the sender needs to hold each tenant under its QPS and monthly quota: the shared
 * rate limiter, the gate, the backlog pre-check and parking.
 *
 * @example
 * const shaping = createShaping(table, tenants);
 * createSender({ ..., gate: shaping.gate, precheck: shaping.precheck, park: shaping.park, getTenant: tenants });
 */
export function createShaping(
  table: Table,
  getTenant: (tenantId: string) => Promise<Tenant | undefined>,
  opts: { limiter?: RateLimiterOptions; gate?: Partial<ShapingGateOptions>; metrics?: ShapingGateOptions['metrics'] } = {},
): Shaping {
  const limits = async (tenantId: string) => {
    const t = await getTenant(tenantId);
    if (!t) throw new Error(`unknown tenant ${tenantId}`);
    return limitsOf(t);
  };
  // A short horizon keeps an invocation from sitting on a backlogged tenant's messages for long,
  // so other tenants' messages in the queue are picked up quickly.
  // 40 ms beyond the jitter-and-lateness budget: the path from the slot check to the socket write
  // (a new connection, a GC pause on a busy instance) and clock skew between Lambda instances.
  // Measured on a 2-core machine: with 0 and with 10 ms, about one call in 1,000-3,000 still broke
  // DingTalk's window; with 20 ms, one in 1,800 at 60 QPS (two bench runs).
  const safetyMs = safetyMsFor({ skewMs: 40 });
  const limiter = new RateLimiter(table, { horizonMs: 500, safetyMs, ...opts.limiter });
  // The waiting line: a second GCRA per (app, API), far-reaching, that hands a backlogged message
  // the time its turn should come. Deferred until then, a backlog comes back at the rate it can be
  // sent instead of circling the queue ahead of other tenants' messages.
  const line = new RateLimiter(table, { horizonMs: 900_000, safetyMs, ...opts.limiter });
  const tickets = new Tickets(line);
  const gate = new ShapingGate({ table, limiter, limits, metrics: opts.metrics, ...opts.gate });
  return {
    gate,
    async precheck(msg, deferrals) {
      if (msg.kind !== 'notify') return 0;
      const tenant = await getTenant(msg.tenantId);
      if (!tenant) return 0; // the sender dead-letters it with the reason
      const apis = [
        ...(msg.to.userIds?.length || msg.to.mobiles?.length ? (['batchSend'] as const) : []),
        ...(msg.to.openConversationIds?.length ? (['groupSend'] as const) : []),
      ];
      if (!apis.length) return 0;
      const waits = await Promise.all(apis.map((api) => gate.waitEstimate(tenant.tenantId, tenant.clientId, api, deferrals > 0)));
      const wait = Math.min(...waits);
      // Free now; or a message that already had its turn in the line: it keeps its place and
      // looks again after the wait (a new ticket would send it to the back).
      if (wait === 0 || deferrals > 0) return wait;
      const api = apis[waits.indexOf(wait)];
      const now = Date.now();
      // The line starts no earlier than the limiter's own backlog as this instance sees it.
      const turn = await tickets.take({ clientId: tenant.clientId, api: `${api}#line` }, limitsOf(tenant).qps, now + wait);
      return Math.max(wait, turn - Date.now());
    },
    async park(msg, reason) {
      const tenant = await getTenant(msg.tenantId);
      if (!tenant) throw new Error(`unknown tenant ${msg.tenantId}`);
      await park(table, tenant.corpId, msg, reason, { tenantId: tenant.tenantId, critical: msg.severity === 'critical' });
    },
  };
}

/**
 * Turns in the waiting line for the messages deferred together in this instance: one limiter
 * write hands out up to 10 (concurrent writes on one item would mostly conflict and retry).
 */
class Tickets {
  private readonly waiting = new Map<string, Array<{ notBefore: number; resolve(t: number): void; reject(e: unknown): void }>>();
  private readonly busy = new Set<string>();

  constructor(private readonly line: RateLimiter) {}

  take(key: RateKey, qps: number, notBefore: number): Promise<number> {
    const id = `${key.clientId}|${key.api}`;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, [...(this.waiting.get(id) ?? []), { notBefore, resolve, reject }]);
      void this.drain(id, key, qps);
    });
  }

  private async drain(id: string, key: RateKey, qps: number): Promise<void> {
    if (this.busy.has(id)) return;
    this.busy.add(id);
    try {
      for (let w = this.waiting.get(id); w?.length; w = this.waiting.get(id)) {
        const batch = w.splice(0, 10);
        try {
          const notBefore = Math.max(...batch.map((b) => b.notBefore));
          const { slots } = await this.line.reserve(key, batch.length, qps, undefined, notBefore);
          batch.forEach((b, i) => b.resolve(slots[i] ?? slots[slots.length - 1] ?? notBefore));
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.busy.delete(id);
    }
  }
}
