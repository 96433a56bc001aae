import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { listParked, park } from '../../../lib/quota/parking';
import { markExhausted, reserveCalls } from '../../../lib/quota/counter';
import { unparkAll } from '../../../lib/quota/unpark';
import { createTable, type Table } from '../../../lib/store/table';
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

  const drain = async () => {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.notifyQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    return (r.Messages ?? []).map((m) => JSON.parse(m.Body!));
  };
  const msg = (tenantId: string, id: string, severity?: string) => ({ version: 1, id, tenantId, kind: 'notify', severity, to: { userIds: ['u1'] }, message: { title: 't', markdown: 'm' } });

  it('nothing moves while the month is used up; everything goes when the month turns (16:00 UTC on the last day)', async () => {
    const tenant = aTenant({ monthlyQuota: 10 });
    await reserveCalls(table, tenant.corpId, 10, { quota: 10, severity: 'critical' }, endOfMarch);
    await park(table, tenant.corpId, msg(tenant.tenantId, 'a'), 'quota', endOfMarch);
    await park(table, tenant.corpId, msg(tenant.tenantId, 'b', 'critical'), 'quota', endOfMarch);

    expect(await unparkAll({ table, sqs, queueUrl: aws.notifyQueueUrl, now: endOfMarch }, [tenant])).toEqual([{ corpId: tenant.corpId, requeued: 0, skipped: 'full' }]);
    expect(await drain()).toEqual([]);

    expect(await unparkAll({ table, sqs, queueUrl: aws.notifyQueueUrl, now: aprilFirst }, [tenant])).toEqual([{ corpId: tenant.corpId, requeued: 2 }]);
    expect((await drain()).map((m) => m.id).sort()).toEqual(['a', 'b']);
    expect(await listParked(table, tenant.corpId)).toEqual([]);
  });

  it('only critical messages may use the reserve; the others stay parked and free for the next sweep', async () => {
    const tenant = aTenant({ monthlyQuota: 100 });
    await reserveCalls(table, tenant.corpId, 96, { quota: 100, severity: 'critical' }, endOfMarch);
    await park(table, tenant.corpId, msg(tenant.tenantId, 'info-1', 'info'), 'quota', endOfMarch);
    await park(table, tenant.corpId, msg(tenant.tenantId, 'crit-1', 'critical'), 'quota', endOfMarch);

    await unparkAll({ table, sqs, queueUrl: aws.notifyQueueUrl, now: endOfMarch }, [tenant]);
    expect((await drain()).map((m) => m.id)).toEqual(['crit-1']);
    const left = await listParked(table, tenant.corpId);
    expect(left.map((p) => [p.messageId, p.lease])).toEqual([['info-1', undefined]]);
  });

  it('DingTalk saying the organisation is exhausted keeps everything parked until the month turns', async () => {
    const tenant = aTenant({ monthlyQuota: 1000 });
    await markExhausted(table, tenant.corpId, '2031-03', endOfMarch);
    await park(table, tenant.corpId, msg(tenant.tenantId, 'x'), 'quota', endOfMarch);
    expect(await unparkAll({ table, sqs, queueUrl: aws.notifyQueueUrl, now: endOfMarch }, [tenant])).toEqual([{ corpId: tenant.corpId, requeued: 0, skipped: 'exhausted' }]);
    expect((await unparkAll({ table, sqs, queueUrl: aws.notifyQueueUrl, now: aprilFirst }, [tenant]))[0].requeued).toBe(1);
  });
});
