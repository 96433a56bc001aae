import { RateLimiter } from '../../../lib/shaping/rateLimiter';
import { ShapingGate } from '../../../lib/shaping/shapingGate';
import { usage } from '../../../lib/quota/counter';
import { useLocalTable } from '../../support/localAws';

describe('the shaping gate on DynamoDB Local', () => {
  const table = useLocalTable();

  const setup = (quota: number) => {
    const emitted: Array<[string, number]> = [];
    const gate = new ShapingGate({
      table,
      limiter: new RateLimiter(table),
      limits: async () => ({ qps: 20, monthlyQuota: quota }),
      metrics: { addMetric: (name: string, _unit: unknown, value: number) => void emitted.push([name, value]) } as never,
      // Per-tenant metrics, named after the call's tenant.
      tenantMetrics: { add: (tenantId, name, value) => void emitted.push([`${tenantId}/${name}`, value]) },
    });
    return { gate, emitted };
  };
  const call = (corpId: string) => ({ api: 'batchSend' as const, clientId: `app-${corpId}`, corpId, tenantId: 't', counted: true, severity: 'critical' as const });

  it("a counted call is reserved before and reported after: the tenant's CallsSent and QuotaUsedPercent for the alarms", async () => {
    const { gate, emitted } = setup(10);
    const c = call('corp-metrics');
    for (let i = 0; i < 8; i++) {
      await gate.before(c);
      await gate.after(c, { kind: 'ok', data: {}, status: 200 });
    }
    expect((await usage(table, 'corp-metrics')).used).toBe(8);
    expect(emitted.filter(([n]) => n === 't/CallsSent')).toHaveLength(8);
    expect(emitted.filter(([n]) => n === 't/QuotaUsedPercent').map(([, v]) => v).pop()).toBe(80);
  });

  it("a call DingTalk rejected for QPS is given back to the month and counted as the tenant's Throttled", async () => {
    const { gate, emitted } = setup(10);
    const c = call('corp-throttled');
    await gate.before(c);
    await gate.after(c, { kind: 'retryable', code: '90018', message: 'qps', status: 200, cause: 'qps' });
    expect((await usage(table, 'corp-throttled')).used).toBe(0);
    expect(emitted).toContainEqual(['t/Throttled', 1]);
  });

  it('no call is let through past the quota', async () => {
    const { gate } = setup(2);
    const c = call('corp-full');
    await gate.before(c);
    await gate.before(c);
    await expect(gate.before(c)).rejects.toMatchObject({ kind: 'quotaExhausted' });
    expect((await usage(table, 'corp-full')).used).toBe(2);
  });
});
