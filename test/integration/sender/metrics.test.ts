import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { FIRST_QUEUED_AT } from '../../../lib/queue/sqs';
import { emfPrinted, emfRecords, metricsOn, type EmfRecord } from '../../support/emf';
import { aNotify, useWorld } from '../../support/world';

/**
 * What the dashboard and the per-tenant alarms read, as the deployed sender prints it: its EMF
 * records, one per tenant (dimensions service and tenantId), with the calls it sent, the quota used
 * and the queue-to-DingTalk latency of each page.
 */

const w = useWorld();
// The local stack's environment switches metrics off; the per-tenant ones are made at first use, after this.
beforeAll(metricsOn);

/** Every value of `metric` in the records (EMF writes one value or a list). */
const values = (records: readonly EmfRecord[], metric: string): number[] => records.flatMap((r) => (r[metric] === undefined ? [] : ([] as number[]).concat(r[metric] as number)));

describe('per-tenant metrics of the sender', () => {
  it("names the tenant on its calls sent, quota used and queue-to-DingTalk latency, each tenant in records of its own", async () => {
    // given: two tenants with a page each
    const a = await w.aTenantWith({ users: [{ userId: 'ua1' }, { userId: 'ua2' }] });
    const b = await w.aTenantWith({ users: [{ userId: 'ub1' }] });
    const sentAt = Date.now();
    await w.send(aNotify(a, { to: { userIds: ['ua1', 'ua2'] } }));
    await w.send(aNotify(b, { to: { userIds: ['ub1'] } }));
    // when
    const printed = await emfPrinted(() => w.deliver());
    const deliveredBy = Date.now();
    // then
    expect(w.sim.messages()).toHaveLength(3);
    for (const t of [a, b]) {
      const mine = emfRecords(printed, { tenantId: t.tenantId });
      expect(mine.length).toBeGreaterThan(0);
      for (const r of mine) expect(r._aws.CloudWatchMetrics[0].Dimensions).toEqual([expect.arrayContaining(['service', 'tenantId'])]);
      expect(values(mine, 'CallsSent').reduce((x, y) => x + y, 0)).toBe(1);
      const [latency] = values(mine, 'DeliveryLatency');
      expect(values(mine, 'DeliveryLatency')).toHaveLength(1);
      // From the SQS SentTimestamp (after `sentAt`, less the server's ms rounding) to DingTalk's answer.
      expect(latency).toBeGreaterThanOrEqual(0);
      expect(latency).toBeLessThanOrEqual(deliveredBy - sentAt + 1000);
    }
    for (const t of [a, b]) {
      const used = values(emfRecords(printed, { tenantId: t.tenantId }), 'QuotaUsedPercent');
      expect(used.length).toBeGreaterThan(0);
      for (const pct of used) expect(pct).toBeGreaterThan(0);
    }
    // Nothing per tenant is left in the service's own records.
    expect(printed.filter((r) => r.tenantId === undefined).flatMap((r) => values([r], 'CallsSent'))).toEqual([]);
  });

  it('counts a re-queued copy from its first arrival (the firstQueuedAt it carries), not from the copy', async () => {
    // given: a copy the sender re-queued; the page first reached the queue 10 minutes ago
    const t = await w.aTenantWith({ users: [{ userId: 'uc1' }] });
    const first = Date.now() - 600_000;
    await w.sqs.send(
      new SendMessageCommand({
        QueueUrl: w.aws.notifyQueueUrl,
        MessageBody: JSON.stringify(aNotify(t, { to: { userIds: ['uc1'] } })),
        MessageAttributes: { [FIRST_QUEUED_AT]: { DataType: 'Number', StringValue: String(first) } },
      }),
    );
    // when
    const printed = await emfPrinted(() => w.deliver());
    // then: the latency the PageLatency alarm reads is the page's, 10 minutes and more
    const [latency] = values(emfRecords(printed, { tenantId: t.tenantId }), 'DeliveryLatency');
    expect(latency).toBeGreaterThanOrEqual(600_000);
  });

  it('adds no series for a tenant id that is not registered (it is dead-lettered, not counted)', async () => {
    // given
    const ghost = { tenantId: 'no-such-tenant-metrics' };
    await w.send(aNotify(ghost));
    // when
    const printed = await emfPrinted(() => w.deliver());
    // then
    expect(await w.takeDeadLetters()).toHaveLength(1);
    expect(emfRecords(printed, { tenantId: ghost.tenantId })).toEqual([]);
  });
});
