import { emfPrinted, emfRecords } from '../support/emf';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME, TENANT_METRICS } from '../../lib/contracts/deployment';
import { publishMetrics, TenantMetrics } from '../../lib/metrics';

/**
 * Per-tenant metrics as CloudWatch reads them: Powertools prints EMF records to stdout; each
 * tenant's values land in a record of its own whose dimension set is (service, tenantId).
 */

describe('per-tenant metrics (CloudWatch EMF)', () => {
  it('prints one record per tenant with the dimensions service and tenantId, every value since the last flush in it', async () => {
    // given
    const m = new TenantMetrics();
    m.add('acme', TENANT_METRICS.callsSent, 1);
    m.add('acme', TENANT_METRICS.callsSent, 1);
    m.add('acme', TENANT_METRICS.deliveryLatency, 120);
    m.add('acme', TENANT_METRICS.deliveryLatency, 80);
    m.add('globex', TENANT_METRICS.parked, 1);
    // when
    const printed = await emfPrinted(async () => m.publish());
    // then
    const acme = emfRecords(printed, { tenantId: 'acme' });
    const globex = emfRecords(printed, { tenantId: 'globex' });
    expect(acme).toHaveLength(1);
    expect(globex).toHaveLength(1);
    for (const r of [...acme, ...globex]) {
      expect(r.service).toBe(SERVICE_NAME);
      expect(r._aws.CloudWatchMetrics).toEqual([expect.objectContaining({ Namespace: METRICS_NAMESPACE, Dimensions: [expect.arrayContaining(['service', 'tenantId'])] })]);
      expect(r._aws.CloudWatchMetrics[0].Dimensions[0]).toHaveLength(2);
    }
    expect(acme[0]).toMatchObject({ CallsSent: [1, 1], DeliveryLatency: [120, 80] });
    expect(acme[0]._aws.CloudWatchMetrics[0].Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'CallsSent', Unit: 'Count' },
        { Name: 'DeliveryLatency', Unit: 'Milliseconds' },
      ]),
    );
    // Nothing of one tenant in the other's record.
    expect(globex[0]).toMatchObject({ Parked: 1 });
    expect(globex[0]).not.toHaveProperty('CallsSent');
    // Flushed: a second publish prints nothing.
    expect(await emfPrinted(async () => m.publish())).toEqual([]);
  });

  it('the publishMetrics middleware flushes the service metrics and the tenants, after a failed handler too', async () => {
    // given
    const service = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
    const tenants = new TenantMetrics();
    const mw = publishMetrics(service, tenants);
    service.addMetric('PossibleDuplicates', MetricUnit.Count, 1);
    tenants.add('acme', TENANT_METRICS.throttled, 1);
    // when: the handler threw
    const printed = await emfPrinted(() => mw.onError());
    // then
    expect(emfRecords(printed, { tenantId: 'acme' })).toEqual([expect.objectContaining({ Throttled: 1 })]);
    const serviceOnly = printed.filter((r) => r.tenantId === undefined);
    expect(serviceOnly).toEqual([expect.objectContaining({ PossibleDuplicates: 1, service: SERVICE_NAME })]);
    expect(serviceOnly[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
  });

  it('prints nothing for an invocation that recorded nothing', async () => {
    const mw = publishMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }), new TenantMetrics());
    expect(await emfPrinted(() => mw.after())).toEqual([]);
  });
});
