import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME, TENANT_DIMENSION, TENANT_METRICS, type TenantMetricName } from './contracts/deployment';

/**
 * The one Powertools metrics instance for what is not per tenant (CloudWatch EMF, flushed by the
 * `publishMetrics` middleware): `PossibleDuplicates`, `QuotaBelowConfigured`, `UnparkErrors`.
 * Per-tenant metrics go through {@link tenantMetrics}.
 */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

const UNITS: Record<TenantMetricName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  [TENANT_METRICS.callsSent]: MetricUnit.Count,
  [TENANT_METRICS.throttled]: MetricUnit.Count,
  [TENANT_METRICS.deferred]: MetricUnit.Count,
  [TENANT_METRICS.parked]: MetricUnit.Count,
  [TENANT_METRICS.quotaUsedPercent]: MetricUnit.Percent,
  [TENANT_METRICS.deliveryLatency]: MetricUnit.Milliseconds,
};

/** Where the per-tenant metrics (lib/contracts/deployment.ts, TENANT_METRICS) are recorded. */
export interface TenantMetricsSink {
  add(tenantId: string, name: TenantMetricName, value: number): void;
}

/**
 * Per-tenant metrics: one EMF record per tenant at each flush, with the dimensions `service` and
 * `tenantId`, holding every value recorded for it since the last flush (so percentiles work).
 * Record only for tenants found in the table: each tenant id is a set of CloudWatch series.
 *
 * @example
 * tenantMetrics.add('acme', TENANT_METRICS.callsSent, 1);
 * tenantMetrics.publish(); // {"_aws":{...,"Dimensions":[["service","tenantId"]]},"tenantId":"acme","CallsSent":1,...}
 */
export class TenantMetrics implements TenantMetricsSink {
  private readonly byTenant = new Map<string, Metrics>();

  add(tenantId: string, name: TenantMetricName, value: number): void {
    let m = this.byTenant.get(tenantId);
    if (!m) {
      m = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, defaultDimensions: { [TENANT_DIMENSION]: tenantId } });
      this.byTenant.set(tenantId, m);
    }
    m.addMetric(name, UNITS[name], value);
  }

  /** Prints the stored records (one per tenant with values) and clears them. */
  publish(): void {
    for (const m of this.byTenant.values()) if (m.hasStoredMetrics()) m.publishStoredMetrics();
  }
}

/** The per-tenant metrics of this Lambda instance (flushed by {@link publishMetrics}). */
export const tenantMetrics = new TenantMetrics();

/**
 * middy middleware: flushes the stored metrics (the service's and the tenants') after the handler,
 * also when it failed, and only when there are some: an invocation that only deferred messages has
 * nothing worth a log line.
 *
 * @example
 * middy(handler).use(publishMetrics())
 */
export const publishMetrics = (m: Metrics = metrics, perTenant: Pick<TenantMetrics, 'publish'> = tenantMetrics) => {
  const flush = async () => {
    if (m.hasStoredMetrics()) m.publishStoredMetrics();
    perTenant.publish();
  };
  return { after: flush, onError: flush };
};
