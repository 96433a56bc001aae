import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { maxInWindow } from '../../../lib/shaping/gcra';
import { listParked } from '../../../lib/quota/parking';
import { usage } from '../../../lib/quota/counter';
import type { NotifyRequest } from '../../../lib/contracts/notifyMessage';
import { createTable, type Table } from '../../../lib/store/table';
import { putTenant } from '../../../lib/store/tenants';
import type { Tenant } from '../../../lib/contracts/tenant';
import { syncApps } from '../../../infra/local/dingtalkSimulator/local';
import { startLocalStack, type LocalStack } from '../../../infra/local/stack';
import type { Simulator } from '../../../infra/local/dingtalkSimulator/simulator';
import { logger } from '../../../lib/log';
import { aTenant } from '../../support/factories';

/**
 * Shaping through the whole local stack: four sender pollers (like four Lambda instances), a
 * strict DingTalk simulator with 0-50 ms network jitter, DynamoDB Local and the SQS server.
 */
describe('every tenant held under its QPS and monthly quota', () => {
  let stack: LocalStack;
  let sim: Simulator;
  let table: Table;
  let sqs: SQSClient;

  beforeAll(async () => {
    logger.setLogLevel((process.env.TEST_LOG_LEVEL as 'ERROR') ?? 'ERROR');
    stack = await startLocalStack({ port: 0, tableName: `shaping-${process.pid}`, pollerConcurrency: 4, simulatorJitterMs: [0, 50], unparkEveryMs: 1000 });
    sim = stack.simulator!;
    table = createTable(stack.env.TABLE_NAME);
    sqs = new SQSClient({});
  });
  afterAll(async () => stack?.stop());

  async function aTenantWithPeople(over: Partial<Tenant>, people: number): Promise<Tenant> {
    const tenant = aTenant(over);
    await putTenant(table, tenant);
    await syncApps(sim, table);
    for (let i = 0; i < people; i++) sim.addUser(tenant.corpId, { userId: `u${i}` });
    return tenant;
  }

  const notify = (tenant: Tenant, i: number, over: Partial<NotifyRequest> = {}): NotifyRequest => ({
    version: 1, id: `${tenant.tenantId}-n${i}`, tenantId: tenant.tenantId, kind: 'notify',
    to: { userIds: [`u${i}`] }, message: { title: `alert ${i}`, markdown: `### alert ${i}` }, ...over,
  });

  async function publish(msgs: NotifyRequest[]) {
    for (let i = 0; i < msgs.length; i += 10) {
      await sqs.send(new SendMessageBatchCommand({
        QueueUrl: stack.env.NOTIFY_QUEUE_URL,
        Entries: msgs.slice(i, i + 10).map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
      }));
    }
  }

  const delivered = (tenant: Tenant) => sim.messages().filter((m) => m.robotCode === tenant.clientId);
  async function until(cond: () => boolean | Promise<boolean>, ms: number) {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('a burst to one app never exceeds its QPS at DingTalk, nothing is lost or sent twice, and no message is dead-lettered for waiting', async () => {
    // given: an app allowed 5 calls/s, and 40 notifications at once
    const tenant = await aTenantWithPeople({ qps: 5 }, 40);
    // when
    await publish(Array.from({ length: 40 }, (_, i) => notify(tenant, i)));
    await until(() => delivered(tenant).length >= 40, 45_000);
    // then: every one delivered once, the strict one-second window never broken
    expect(new Set(delivered(tenant).map((m) => m.to)).size).toBe(40);
    expect(delivered(tenant)).toHaveLength(40);
    const sends = sim.calls.filter((c) => c.clientId === tenant.clientId && c.api === 'batchSend');
    expect(sends.filter((c) => c.overLimit)).toEqual([]);
    expect(maxInWindow(sends.map((c) => c.at))).toBeLessThanOrEqual(5);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.env.NOTIFY_DLQ_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(dead.Messages ?? []).toEqual([]);
  });

  it('a quota that cannot carry the messages: none sent past it, the rest parked, then sent when the quota is raised', async () => {
    // given: 10 calls a month (the last 5 % kept for critical), 12 info notifications
    const tenant = await aTenantWithPeople({ monthlyQuota: 10 }, 12);
    // when
    await publish(Array.from({ length: 12 }, (_, i) => notify(tenant, i, { severity: 'info' })));
    await until(async () => delivered(tenant).length >= 9 && (await listParked(table, tenant.corpId)).length >= 3, 30_000);
    // then: 9 sent (10 minus the critical reserve), 3 parked, the counter at 9, nothing past the quota
    expect(delivered(tenant)).toHaveLength(9);
    expect((await usage(table, tenant.corpId)).used).toBe(9);
    expect(sim.pastQuotaCount()).toBe(0);

    // and a critical page may still use the reserve
    await publish([notify(tenant, 0, { id: `${tenant.tenantId}-critical`, severity: 'critical' })]);
    await until(() => delivered(tenant).length >= 10, 20_000);

    // when the quota is raised, the parked messages go out (the schedule re-queues them)
    await putTenant(table, { ...tenant, monthlyQuota: 100 });
    await syncApps(sim, table);
    await until(() => delivered(tenant).length >= 13, 90_000);
    expect(await listParked(table, tenant.corpId)).toEqual([]);
    expect(new Set(delivered(tenant).map((m) => m.to)).size).toBe(12);
  }, 150_000);
});
