import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parkKey, parkSk } from '../../../lib/contracts/tableKeys';
import { readDeadLetter } from '../../../lib/contracts/deadLetter';
import type { Tenant } from '../../../lib/contracts/tenant';
import { listParked, park } from '../../../lib/quota/parking';
import { markExhausted, reserveCalls } from '../../../lib/quota/counter';
import { unparkAll, type UnparkResult } from '../../../lib/quota/unpark';
import { createTable, type Table } from '../../../lib/store/table';
import { deleteTenant, putTenant } from '../../../lib/store/tenants';
import { aTenant } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

describe('parked messages go back to the notify queue when the quota allows', () => {
  let aws: LocalAws;
  let table: Table;
  let sqs: SQSClient;
  // 2031-03-31 15:59:59 UTC is 23:59:59 on the 31st in China; one second later the month turns.
  const endOfMarch = Date.parse('2031-03-31T15:59:59Z');
  const aprilFirst = endOfMarch + 1000;

  beforeAll(async () => {
    aws = await startLocalAws();
    table = createTable(aws.tableName);
    sqs = new SQSClient({});
  });
  afterAll(async () => aws?.stop());

  /** Everything on the queue (no wait: a sweep has sent what it sends before it returns). */
  const receive = async (queueUrl: string) => {
    const out: Array<{ body: string; attrs: ReturnType<typeof readDeadLetter> }> = [];
    for (;;) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
      if (!r.Messages?.length) return out;
      out.push(...r.Messages.map((m) => ({ body: m.Body!, attrs: readDeadLetter(m.MessageAttributes) })));
    }
  };
  /** Ids re-queued for `tenant` (other tests' messages are left out). */
  const requeued = async (tenant: Tenant) => (await receive(aws.notifyQueueUrl)).map((m) => JSON.parse(m.body)).filter((m) => m.tenantId === tenant.tenantId).map((m) => m.id);
  const msg = (tenantId: string, id: string, severity?: string, extra: Record<string, unknown> = {}) => ({ version: 1, id, tenantId, kind: 'notify', severity, to: { userIds: ['u1'] }, message: { title: 't', markdown: 'm' }, ...extra });
  const parkFor = (tenant: Tenant, m: { id: string; severity?: string }, now: number) => park(table, tenant.corpId, m, 'quota', { tenantId: tenant.tenantId, critical: m.severity === 'critical', now });
  /** One sweep; this tenant's organisation's result. */
  const sweep = async (tenant: Tenant, now: number, maxCalls?: number): Promise<UnparkResult | undefined> =>
    (await unparkAll({ table, sqs, queueUrl: aws.notifyQueueUrl, dlqUrl: aws.notifyDlqUrl, now }, maxCalls)).find((r) => r.corpId === tenant.corpId);
  const aRegisteredTenant = async (over: Partial<Tenant>) => {
    const tenant = aTenant(over);
    await putTenant(table, tenant);
    return tenant;
  };

  it('nothing moves while the month is used up; everything goes when the month turns (16:00 UTC on the last day)', async () => {
    const tenant = await aRegisteredTenant({ monthlyQuota: 10 });
    await reserveCalls(table, tenant.corpId, 10, { quota: 10, severity: 'critical' }, endOfMarch);
    await parkFor(tenant, msg(tenant.tenantId, 'a'), endOfMarch);
    await parkFor(tenant, msg(tenant.tenantId, 'b', 'critical'), endOfMarch);

    expect(await sweep(tenant, endOfMarch)).toEqual({ corpId: tenant.corpId, requeued: 0, skipped: 'full' });
    expect(await requeued(tenant)).toEqual([]);

    expect(await sweep(tenant, aprilFirst)).toEqual({ corpId: tenant.corpId, requeued: 2 });
    expect((await requeued(tenant)).sort()).toEqual(['a', 'b']);
    expect(await listParked(table, tenant.corpId)).toEqual([]);
  });

  it('only critical messages may use the reserve; the others stay parked and free for the next sweep', async () => {
    const tenant = await aRegisteredTenant({ monthlyQuota: 100 });
    await reserveCalls(table, tenant.corpId, 96, { quota: 100, severity: 'critical' }, endOfMarch);
    await parkFor(tenant, msg(tenant.tenantId, 'info-1', 'info'), endOfMarch);
    await parkFor(tenant, msg(tenant.tenantId, 'crit-1', 'critical'), endOfMarch);

    await sweep(tenant, endOfMarch);
    expect(await requeued(tenant)).toEqual(['crit-1']);
    const left = await listParked(table, tenant.corpId);
    expect(left.map((p) => [p.messageId, p.lease])).toEqual([['info-1', undefined]]);
  });

  it('takes critical pages first, then the oldest, however many others wait', async () => {
    // given: 60 warnings parked before one critical page; the quota is raised by 10 calls
    const tenant = await aRegisteredTenant({ monthlyQuota: 1_000 });
    await reserveCalls(table, tenant.corpId, 940, { quota: 1_000, severity: 'critical' }, endOfMarch);
    for (let i = 0; i < 60; i++) await parkFor(tenant, msg(tenant.tenantId, `a-warning-${String(i).padStart(2, '0')}`, 'warning'), endOfMarch - 60_000 + i);
    await parkFor(tenant, msg(tenant.tenantId, 'z-critical', 'critical'), endOfMarch);
    // when: one sweep with room for 10 calls
    await sweep(tenant, endOfMarch, 10);
    // then: the critical page went first, then the 9 oldest warnings
    const ids = await requeued(tenant);
    expect(ids).toHaveLength(10);
    expect(ids).toContain('z-critical');
    expect(ids.filter((id) => id !== 'z-critical').sort()).toEqual(Array.from({ length: 9 }, (_, i) => `a-warning-0${i}`));
  });

  it('counts a message by its calls: a page to 100 users needs 5 of the room, and what follows it waits', async () => {
    const tenant = await aRegisteredTenant({ monthlyQuota: 1_000 });
    const users = Array.from({ length: 100 }, (_, i) => `u${i}`);
    await parkFor(tenant, msg(tenant.tenantId, 'big', 'critical', { to: { userIds: users } }), endOfMarch);
    await parkFor(tenant, msg(tenant.tenantId, 'small', 'critical'), endOfMarch + 1);
    expect(await sweep(tenant, endOfMarch + 2, 4)).toEqual({ corpId: tenant.corpId, requeued: 0 });
    expect(await sweep(tenant, endOfMarch + 3, 6)).toEqual({ corpId: tenant.corpId, requeued: 2 });
    expect((await requeued(tenant)).sort()).toEqual(['big', 'small']);
  });

  it("checks each message against its own tenant's quota when an organisation's tenants differ", async () => {
    // given: two apps of one organisation, configured for 10 and for 1,000 calls; 10 used
    const small = await aRegisteredTenant({ monthlyQuota: 10 });
    const large = await aRegisteredTenant({ corpId: small.corpId, monthlyQuota: 1000 });
    await reserveCalls(table, small.corpId, 10, { quota: 10, severity: 'critical' }, endOfMarch);
    await parkFor(small, msg(small.tenantId, 'for-small', 'critical'), endOfMarch);
    await parkFor(large, msg(large.tenantId, 'for-large', 'critical'), endOfMarch + 1);
    // when
    await sweep(small, endOfMarch + 2);
    // then: only the message its gate will let through goes back; the other stays parked
    expect(await requeued(large)).toEqual(['for-large']);
    expect((await listParked(table, small.corpId)).map((p) => p.messageId)).toEqual(['for-small']);
  });

  it('DingTalk saying the organisation is exhausted keeps everything parked until the month turns', async () => {
    const tenant = await aRegisteredTenant({ monthlyQuota: 1000 });
    await markExhausted(table, tenant.corpId, '2031-03', endOfMarch);
    await parkFor(tenant, msg(tenant.tenantId, 'x'), endOfMarch);
    expect(await sweep(tenant, endOfMarch)).toEqual({ corpId: tenant.corpId, requeued: 0, skipped: 'exhausted' });
    expect((await sweep(tenant, aprilFirst))?.requeued).toBe(1);
    expect(await requeued(tenant)).toEqual(['x']);
  });

  it('re-queues a body with characters SQS refuses raw (U+FFFE), escaped, as the same message', async () => {
    const tenant = await aRegisteredTenant({ monthlyQuota: 1000 });
    await parkFor(tenant, msg(tenant.tenantId, 'odd', undefined, { message: { title: 'a\uFFFEb\uFFFF', markdown: 'm' } }), endOfMarch);
    expect((await sweep(tenant, endOfMarch))?.requeued).toBe(1);
    const [m] = (await receive(aws.notifyQueueUrl)).map((r) => JSON.parse(r.body)).filter((r) => r.tenantId === tenant.tenantId);
    expect(m.message.title).toBe('a\uFFFEb\uFFFF');
  });

  it('moves a parked item that can never be sent to the DLQ with the reason, and re-queues the rest', async () => {
    const tenant = await aRegisteredTenant({ monthlyQuota: 1000 });
    await table.doc.send(
      new PutCommand({
        TableName: table.name,
        Item: { ...parkKey(tenant.corpId, parkSk(true, endOfMarch - 5, 'broken')), type: 'parked', corpId: tenant.corpId, messageId: 'broken', month: '2031-03', parkedAt: endOfMarch - 5, reason: 'quota', critical: true, body: '{"version":1,"id":"broken"' },
      }),
    );
    await parkFor(tenant, msg(tenant.tenantId, 'fine'), endOfMarch);
    expect(await sweep(tenant, endOfMarch)).toEqual({ corpId: tenant.corpId, requeued: 1, deadLettered: 1 });
    expect(await requeued(tenant)).toEqual(['fine']);
    const dead = (await receive(aws.notifyDlqUrl)).filter((d) => d.attrs.messageId === 'broken');
    expect(dead).toEqual([{ body: '{"version":1,"id":"broken"', attrs: expect.objectContaining({ source: 'unpark', reason: expect.stringContaining('not a valid message') }) }]);
    expect(await listParked(table, tenant.corpId)).toEqual([]);
  });

  it('acknowledges each item as soon as it is re-queued: a send that fails later leaves only the unsent ones parked', async () => {
    const tenant = await aRegisteredTenant({ monthlyQuota: 1000 });
    await parkFor(tenant, msg(tenant.tenantId, 'first'), endOfMarch);
    await parkFor(tenant, msg(tenant.tenantId, 'second'), endOfMarch + 1);
    // the SQS server answers the second send with an outage
    let sends = 0;
    const flaky = {
      send: (cmd: { constructor: { name: string } }) => {
        if (cmd.constructor.name === 'SendMessageCommand' && ++sends === 2) return Promise.reject(Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable', $fault: 'server' }));
        return sqs.send(cmd as never);
      },
    } as unknown as SQSClient;
    await expect(unparkAll({ table, sqs: flaky, queueUrl: aws.notifyQueueUrl, dlqUrl: aws.notifyDlqUrl, now: endOfMarch + 2 })).rejects.toThrow(/re-queueing second: service unavailable/);
    expect(await requeued(tenant)).toEqual(['first']);
    expect((await listParked(table, tenant.corpId)).map((p) => [p.messageId, p.lease])).toEqual([['second', undefined]]);
    // the next sweep takes the rest
    expect((await sweep(tenant, endOfMarch + 3))?.requeued).toBe(1);
    expect(await requeued(tenant)).toEqual(['second']);
  });

  it('reports an organisation it cannot sweep (logged, counted, thrown) after sweeping the others', async () => {
    const gone = await aRegisteredTenant({ monthlyQuota: 1000 });
    const fine = await aRegisteredTenant({ monthlyQuota: 1000 });
    await parkFor(gone, msg(gone.tenantId, 'orphan'), endOfMarch);
    await parkFor(fine, msg(fine.tenantId, 'ok'), endOfMarch);
    await deleteTenant(table, gone.tenantId);
    await expect(unparkAll({ table, sqs, queueUrl: aws.notifyQueueUrl, dlqUrl: aws.notifyDlqUrl, now: endOfMarch })).rejects.toThrow(
      new RegExp(`unpark failed for 1 organisation\\(s\\): ${gone.corpId}: no tenant left`),
    );
    expect(await requeued(fine)).toEqual(['ok']);
    expect(await listParked(table, gone.corpId)).toHaveLength(1);
  });
});
