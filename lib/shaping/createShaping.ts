import type { NotifyQueueMessage } from '../contracts/notifyMessage';
import type { Table } from '../store/table';
import type { TenantRecord as Tenant } from '../store/secrets';
import { limitsOf } from '../contracts/tenant';
import { safetyMsFor } from './gcra';
import { park } from '../quota/parking';
import { TENANT_METRICS } from '../contracts/deployment';
import { RateLimiter, type RateLimiterOptions } from './rateLimiter';
import { ShapingGate, type ShapingGateOptions } from './shapingGate';

export interface Shaping {
  gate: ShapingGate;
  /** For SenderDeps.park: a message the quota cannot carry waits in DynamoDB, not lost. */
  park(msg: NotifyQueueMessage, reason: string): Promise<void>;
}

/**
 * Everything the sender needs to hold each tenant under its QPS and monthly quota: the shared
 * rate limiter, the gate (which paces an app's robot calls locally while this process holds its
 * lane: `opts.gate.pacerFor`) and parking.
 *
 * @example
 * const shaping = createShaping(table, tenants);
 * createSender({ ..., gate: shaping.gate, park: shaping.park, getTenant: tenants });
 */
export function createShaping(
  table: Table,
  getTenant: (tenantId: string) => Promise<Tenant | undefined>,
  opts: { limiter?: RateLimiterOptions; gate?: Partial<ShapingGateOptions>; metrics?: ShapingGateOptions['metrics']; tenantMetrics?: ShapingGateOptions['tenantMetrics'] } = {},
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
  const gate = new ShapingGate({ table, limiter, limits, metrics: opts.metrics, tenantMetrics: opts.tenantMetrics, ...opts.gate });
  return {
    gate,
    async park(msg, reason) {
      const tenant = await getTenant(msg.tenantId);
      if (!tenant) throw new Error(`unknown tenant ${msg.tenantId}`);
      await park(table, tenant.corpId, msg, reason, { tenantId: tenant.tenantId, critical: msg.severity === 'critical' });
      opts.tenantMetrics?.add(tenant.tenantId, TENANT_METRICS.parked, 1);
    },
  };
}

