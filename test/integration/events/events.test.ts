import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import type { Poller } from '../../../infra/local/poller';
import type { Table } from '../../../lib/store/table';
import type { Tenant } from '../../../lib/contracts/tenant';
import { groupKey } from '../../../lib/contracts/tableKeys';
import { aTenant, httpEvent, lambdaContext, signedPush } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

/**
 * Issue 4 end to end on the real local services: a signed DingTalk push -> callback Lambda ->
 * events queue (SQS server) -> local poller (Lambda's SQS event source) -> events Lambda ->
 * DynamoDB Local. Nothing is stubbed.
 */

type HttpHandler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

let aws: LocalAws;
let sqs: SQSClient;
let table: Table;
let callback: HttpHandler;
let events: SqsHandler;
let poller: Poller;
let lib: {
  putTenant: typeof import('../../../lib/store/tenants').putTenant;
  getGroup: typeof import('../../../lib/store/groups').getGroup;
  listGroups: typeof import('../../../lib/store/groups').listGroups;
  applyLink: typeof import('../../../lib/store/groups').applyLink;
  getEventCount: typeof import('../../../lib/store/eventCounts').getEventCount;
  chinaMonth: typeof import('../../../lib/util/chinaTime').chinaMonth;
  runTenantCli: typeof import('../../../lib/cli/tenant').runTenantCli;
  createEventBatchHandler: typeof import('../../../lib/events').createEventBatchHandler;
  EventDedupeStore: typeof import('../../../lib/store/eventDedupe').EventDedupeStore;
  logger: typeof import('../../../lib/log').logger;
};
const errorLogs: { message: string; extra: Record<string, unknown> }[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  process.env.EVENTS_DLQ_URL = aws.eventsDlqUrl;
  process.env.LOG_LEVEL = 'SILENT';
  // Import only now: handlers read their configuration and create their clients at module scope.
  ({ handler: callback } = (await import('../../../functions/callback')) as unknown as { handler: HttpHandler });
  ({ handler: events } = (await import('../../../functions/events')) as unknown as { handler: SqsHandler });
  const { createTable } = await import('../../../lib/store/table');
  lib = {
    putTenant: (await import('../../../lib/store/tenants')).putTenant,
    getGroup: (await import('../../../lib/store/groups')).getGroup,
    listGroups: (await import('../../../lib/store/groups')).listGroups,
    applyLink: (await import('../../../lib/store/groups')).applyLink,
    getEventCount: (await import('../../../lib/store/eventCounts')).getEventCount,
    chinaMonth: (await import('../../../lib/util/chinaTime')).chinaMonth,
    runTenantCli: (await import('../../../lib/cli/tenant')).runTenantCli,
    createEventBatchHandler: (await import('../../../lib/events')).createEventBatchHandler,
    EventDedupeStore: (await import('../../../lib/store/eventDedupe')).EventDedupeStore,
    logger: (await import('../../../lib/log')).logger,
  };
  jest.spyOn(lib.logger, 'error').mockImplementation(((message: string, extra: Record<string, unknown>) => void errorLogs.push({ message, extra })) as never);
  table = createTable(aws.tableName);
  sqs = new SQSClient({});
  const { startPoller, pollerSettings } = await import('../../../infra/local/poller');
  const { QUEUES } = await import('../../../lib/contracts/deployment');
  poller = startPoller({
    sqs,
    queueUrl: aws.eventsQueueUrl,
    handler: events,
    functionName: 'events',
    concurrency: 1,
    waitTimeSeconds: 1,
    ...pollerSettings(QUEUES.events),
    // No batching window: it only holds a lone pushed event back for a second before its batch of one.
    maxBatchingWindowSeconds: 0,
  });
}, 120_000);

afterAll(async () => {
  await poller?.stop();
  sqs?.destroy();
  table?.doc.destroy();
  await aws?.stop();
});

// ---- helpers and small factories ---------------------------------------------------------------

const hex = (n = 4) => randomBytes(n).toString('hex');
const T0 = Date.now() - 60_000;

const aStoredTenant = (over: Partial<Tenant> = {}) => lib.putTenant(table, aTenant(over));
const aGroupId = () => `cid${hex(8)}==`;

const installed = (cid: string, over: Record<string, unknown> = {}) => ({
  EventType: 'im_cool_app_install',
  eventId: `evt-${hex(6)}`,
  EventTime: String(T0),
  CorpId: 'ding-corp-events',
  coolAppCode: 'COOLAPP-1-0001',
  robotCode: 'dingrobot0001',
  openConversationId: cid,
  openConversationCorpId: 'ding-corp-events',
  operator: 'manager001',
  operateTime: String(T0),
  ...over,
});
const uninstalled = (cid: string, over: Record<string, unknown> = {}) => installed(cid, { EventType: 'im_cool_app_uninstall', ...over });
const renamed = (cid: string, title: string, over: Record<string, unknown> = {}) => ({
  EventType: 'chat_update_title',
  eventId: `evt-${hex(6)}`,
  EventTime: String(T0),
  CorpId: 'ding-corp-events',
  chatId: `chat${hex(3)}`,
  openConversationId: cid,
  title,
  operator: 'manager002',
  timeStamp: String(T0),
  ...over,
});

/** DingTalk pushes `event` to the tenant's callback URL; the callback must accept it. */
async function push(tenant: Tenant, event: Record<string, unknown>): Promise<void> {
  const p = signedPush(tenant, event);
  const res = await callback(
    httpEvent({ path: `/dingtalk/${tenant.tenantId}/callback`, pathParameters: { tenantId: tenant.tenantId }, query: p.query, body: p.body }),
    { ...lambdaContext, awsRequestId: `req-${hex()}` },
  );
  expect(res.statusCode).toBe(200);
}

async function until<T>(probe: () => Promise<T> | T, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Messages on a queue, visible or in flight (read without receiving them). */
async function depth(queueUrl: string): Promise<number> {
  const r = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(r.Attributes!.ApproximateNumberOfMessages) + Number(r.Attributes!.ApproximateNumberOfMessagesNotVisible);
}

/** Waits until the poller has taken every queued event off the events queue (processed and deleted). */
const settled = () => until(async () => (await depth(aws.eventsQueueUrl)) === 0);

/** Pushes and waits until the events Lambda has handled it. */
async function pushAndSettle(tenant: Tenant, event: Record<string, unknown>) {
  await push(tenant, event);
  await settled();
}

const group = (tenant: Tenant, cid: string) => lib.getGroup(table, tenant.tenantId, cid);
const countFor = (corpId: string, ms = Date.now()) => lib.getEventCount(table, corpId, lib.chinaMonth(ms));

/** Takes everything off the events DLQ. */
async function drainDlq(): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.eventsDlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }));
    if (!r.Messages?.length) return out;
    out.push(...r.Messages);
  }
}

// ---- behaviour ----------------------------------------------------------------------------------

describe('DingTalk events, end to end (callback -> SQS -> poller -> events Lambda -> DynamoDB)', () => {
  it('installing the cool app in a group links the group to the tenant with the app, robot, operator and time', async () => {
    // given
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    const corpId = `ding-corp-${hex()}`;
    // when
    await push(tenant, installed(cid, { CorpId: corpId }));
    const g = await until(() => group(tenant, cid));
    // then
    expect(g).toMatchObject({
      tenantId: tenant.tenantId,
      openConversationId: cid,
      linked: true,
      coolAppCode: 'COOLAPP-1-0001',
      robotCode: 'dingrobot0001',
      operator: 'manager001',
      linkAt: T0,
      linkedAt: new Date(T0).toISOString(),
    });
    expect(g!.history).toEqual([expect.objectContaining({ action: 'install', at: new Date(T0).toISOString(), operator: 'manager001' })]);
    await until(async () => (await countFor(corpId)) === 1);
  });

  it('uninstalling marks the group unlinked and keeps its history and last app code', async () => {
    // given
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    await pushAndSettle(tenant, installed(cid));
    // when
    await pushAndSettle(tenant, uninstalled(cid, { operator: 'manager009', operateTime: String(T0 + 5000) }));
    // then
    const g = await group(tenant, cid);
    expect(g).toMatchObject({ linked: false, coolAppCode: 'COOLAPP-1-0001', operator: 'manager009', linkedAt: new Date(T0).toISOString(), unlinkedAt: new Date(T0 + 5000).toISOString() });
    expect(g!.history.map((h) => h.action)).toEqual(['install', 'uninstall']);
  });

  it('a renamed group keeps its Chinese title byte-exact, with keys in any casing', async () => {
    // given
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    const title = '支付告警群 🚨 · On-call（二线）';
    // when
    const { openConversationId: _c, title: _t, ...rest } = renamed(cid, title);
    await pushAndSettle(tenant, { ...rest, OpenConversationId: cid, Title: title });
    // then
    const g = await group(tenant, cid);
    expect(g).toMatchObject({ title, titleAt: T0, linked: false });
    expect(Buffer.from(g!.title!, 'utf8').equals(Buffer.from(title, 'utf8'))).toBe(true);
  });

  it('renaming a war-room group renames the war room too', async () => {
    // given: a group the war-room feature recorded for an incident
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    await pushAndSettle(tenant, installed(cid));
    await table.doc.send(
      new UpdateCommand({
        TableName: aws.tableName,
        Key: groupKey(tenant.tenantId, cid),
        UpdateExpression: 'SET warRoom = :w',
        ExpressionAttributeValues: { ':w': { incidentId: 'inc-42', title: '[P1] 支付失败' } },
      }),
    );
    // when
    await pushAndSettle(tenant, renamed(cid, '[P1] 支付失败 - 已定位', { EventTime: String(T0 + 1000) }));
    // then
    const g = await group(tenant, cid);
    expect(g).toMatchObject({ title: '[P1] 支付失败 - 已定位', linked: true, warRoom: { incidentId: 'inc-42', title: '[P1] 支付失败 - 已定位' } });
  });

  it('the same eventId pushed twice has one effect and is counted once', async () => {
    // given
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    const corpId = `ding-corp-${hex()}`;
    const event = installed(cid, { CorpId: corpId });
    // when: DingTalk retries the push (and a second time while the first is still queued)
    await push(tenant, event);
    await push(tenant, event);
    await settled();
    await pushAndSettle(tenant, event);
    // then
    const g = await group(tenant, cid);
    expect(g!.history).toHaveLength(1);
    expect(await countFor(corpId)).toBe(1);
    const mark = await table.doc.send(new GetCommand({ TableName: aws.tableName, Key: { pk: `EVENT#${tenant.tenantId}#${event.eventId}`, sk: 'EVENT' } }));
    expect(mark.Item).toMatchObject({ status: 'COMPLETED' });
    expect(mark.Item!.expiresAt).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 7 * 24 * 3600 - 60);
  });

  it('an uninstall processed before an older install leaves the group unlinked', async () => {
    // given
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    await pushAndSettle(tenant, uninstalled(cid, { operateTime: String(T0 + 10_000), operator: 'later' }));
    // when: the older install arrives late
    await pushAndSettle(tenant, installed(cid, { operateTime: String(T0), operator: 'earlier' }));
    // then
    const g = await group(tenant, cid);
    expect(g).toMatchObject({ linked: false, operator: 'later', linkAt: T0 + 10_000 });
    expect(g!.linkedAt).toBeUndefined();
    expect(g!.history.map((h) => h.action)).toEqual(['uninstall']);
  });

  it('an older rename arriving after a newer one does not overwrite the newer title, and does not block installs', async () => {
    // given
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    await pushAndSettle(tenant, renamed(cid, '新名字', { EventTime: String(T0 + 2000) }));
    // when
    await pushAndSettle(tenant, renamed(cid, '旧名字', { EventTime: String(T0 + 1000) }));
    await pushAndSettle(tenant, installed(cid, { operateTime: String(T0) }));
    // then
    expect(await group(tenant, cid)).toMatchObject({ title: '新名字', titleAt: T0 + 2000, linked: true });
  });

  it('an event type we do not handle is acknowledged, stores no group, and is counted', async () => {
    // given
    const tenant = await aStoredTenant();
    const corpId = `ding-corp-${hex()}`;
    // when
    await pushAndSettle(tenant, { EventType: 'user_add_org', eventId: `evt-${hex()}`, CorpId: corpId, UserId: ['u1'], TimeStamp: String(Date.now()) });
    // then
    expect(await lib.getEventCount(table, corpId, lib.chinaMonth(Date.now()))).toBe(1);
    expect(await depth(aws.eventsQueueUrl)).toBe(0);
    expect(await lib.listGroups(table, tenant.tenantId)).toEqual([]);
  });

  it('an event without CorpId is counted for the tenant’s organisation', async () => {
    // given
    const tenant = await aStoredTenant({ corpId: `ding-corp-${hex()}` });
    const { CorpId: _c, ...noCorp } = renamed(aGroupId(), '无企业字段');
    // when
    await pushAndSettle(tenant, noCorp);
    // then
    expect(await countFor(tenant.corpId)).toBe(1);
  });

  it('poison records go to the DLQ with their reason while their neighbours in the batch succeed', async () => {
    // given: one batch with a valid install, a body that is not JSON, and a rename without group
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    const good = { tenantId: tenant.tenantId, eventId: `evt-${hex()}`, eventType: 'im_cool_app_install', receivedAt: new Date().toISOString(), event: installed(cid) };
    const noGroup = { ...good, eventId: `evt-${hex()}`, eventType: 'chat_update_title', event: { EventType: 'chat_update_title', title: 'x', CorpId: 'c' } };
    const noTenant = { ...good, eventId: `evt-${hex()}`, tenantId: undefined };
    await drainDlq();
    errorLogs.length = 0;
    // when
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: aws.eventsQueueUrl,
        Entries: [
          { Id: 'bad-json', MessageBody: '{"tenantId": "t", "event": {' },
          { Id: 'good', MessageBody: JSON.stringify(good) },
          { Id: 'no-group', MessageBody: JSON.stringify(noGroup) },
          { Id: 'no-tenant', MessageBody: JSON.stringify(noTenant) },
        ],
      }),
    );
    await settled();
    // then
    expect(await group(tenant, cid)).toMatchObject({ linked: true });
    const dead = await until(async () => {
      const got = await drainDlq();
      return got.length ? got : undefined;
    });
    const reasons = Object.fromEntries(dead.map((m) => [m.Body!, m.MessageAttributes!.reason.StringValue]));
    expect(dead).toHaveLength(3);
    expect(reasons['{"tenantId": "t", "event": {']).toMatch(/not JSON/);
    expect(reasons[JSON.stringify(noGroup)]).toMatch(/openConversationId/);
    expect(reasons[JSON.stringify(noTenant)]).toMatch(/tenantId/);
    expect(errorLogs.filter((l) => l.message === 'invalid event sent to the dead-letter queue').map((l) => l.extra.reason)).toHaveLength(3);
  });

  it('a rename without a group pushed through the callback ends in the DLQ, never retried', async () => {
    // given
    const tenant = await aStoredTenant();
    await drainDlq();
    const { openConversationId: _c, ...noGroup } = renamed('x', 'no group');
    // when
    await pushAndSettle(tenant, noGroup);
    // then
    const dead = await until(async () => {
      const got = await drainDlq();
      return got.length ? got : undefined;
    });
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0].Body!)).toMatchObject({ tenantId: tenant.tenantId, eventId: noGroup.eventId });
    expect(dead[0].MessageAttributes!.reason.StringValue).toMatch(/openConversationId/);
  });

  it('the tenant CLI lists a tenant’s groups with title, link state and app code', async () => {
    // given
    const tenant = await aStoredTenant();
    const [a, b] = [aGroupId(), aGroupId()];
    await pushAndSettle(tenant, installed(a));
    await pushAndSettle(tenant, renamed(a, '运维群'));
    await pushAndSettle(tenant, installed(b, { coolAppCode: 'COOLAPP-2' }));
    await pushAndSettle(tenant, uninstalled(b, { coolAppCode: 'COOLAPP-2', operateTime: String(T0 + 1) }));
    // when
    const out: string[] = [];
    const err: string[] = [];
    const code = await lib.runTenantCli(['groups', tenant.tenantId], { table, out: (l) => out.push(l), err: (l) => err.push(l) });
    // then
    expect(code).toBe(0);
    expect(err).toEqual([]);
    const listed = JSON.parse(out.join('\n')) as Array<Record<string, unknown>>;
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ openConversationId: a, title: '运维群', linked: true, coolAppCode: 'COOLAPP-1-0001' }),
        expect.objectContaining({ openConversationId: b, title: null, linked: false, coolAppCode: 'COOLAPP-2' }),
      ]),
    );
    expect(listed).toHaveLength(2);
    expect(await lib.runTenantCli(['groups'], { table, out: () => undefined, err: (l) => err.push(l) })).toBe(2);
  });
});

describe('dedupe does not block the retry of a failed first attempt', () => {
  it('a record that failed is reported as a batch item failure, and its retry is applied and counted once', async () => {
    // given: a table whose first group write fails
    const { createTable } = await import('../../../lib/store/table');
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const dynamo = new DynamoDBClient({});
    const flaky = createTable(aws.tableName, dynamo);
    const send = flaky.doc.send.bind(flaky.doc);
    let failures = 1;
    flaky.doc.send = (async (cmd: unknown) => {
      if (cmd instanceof UpdateCommand && (cmd.input.Key as { sk: string }).sk.startsWith('GROUP#') && failures-- > 0) throw new Error('ProvisionedThroughputExceeded');
      return send(cmd as never);
    }) as typeof flaky.doc.send;
    const handler = lib.createEventBatchHandler({ table: flaky, dedupe: new lib.EventDedupeStore({ tableName: aws.tableName, client: dynamo }), now: Date.now });
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    const corpId = `ding-corp-${hex()}`;
    const body = JSON.stringify({ tenantId: tenant.tenantId, eventId: `evt-${hex()}`, eventType: 'im_cool_app_install', receivedAt: new Date().toISOString(), event: installed(cid, { CorpId: corpId }) });
    const record = (n: number): SQSRecord => ({
      messageId: 'm-1',
      receiptHandle: `rh-${n}`,
      body,
      attributes: { ApproximateReceiveCount: String(n), SentTimestamp: String(Date.now()), SenderId: 'x', ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:dingtalk-events',
      awsRegion: 'us-east-1',
    });
    const neighbour = { ...record(1), messageId: 'm-2', body: JSON.stringify({ ...JSON.parse(body), eventId: `evt-${hex()}`, event: renamed(aGroupId(), 'ok') }) };
    // when: the first attempt fails, the redelivery succeeds, a third delivery is a duplicate
    const first = await handler({ Records: [record(1), neighbour] }, { ...lambdaContext });
    const second = await handler({ Records: [record(2)] }, { ...lambdaContext });
    const third = await handler({ Records: [record(3)] }, { ...lambdaContext });
    // then
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(second.batchItemFailures).toEqual([]);
    expect(third.batchItemFailures).toEqual([]);
    expect(await group(tenant, cid)).toMatchObject({ linked: true });
    expect((await group(tenant, cid))!.history).toHaveLength(1);
    expect(await countFor(corpId)).toBe(1);
    dynamo.destroy();
  });
});

describe('the group store', () => {
  it('keeps only the latest link changes in a group’s history', async () => {
    // given
    const tenant = await aStoredTenant();
    const cid = aGroupId();
    // when: 12 installs and uninstalls, in order
    for (let i = 0; i < 12; i++) {
      const result = await lib.applyLink(table, tenant.tenantId, { openConversationId: cid, linked: i % 2 === 0, at: T0 + i, operator: `op${i}` }, Date.now());
      expect(result).toBe('applied');
    }
    // then
    const g = await group(tenant, cid);
    expect(g!.history).toHaveLength(10);
    expect(g!.history.map((h) => h.operator)).toEqual(['op2', 'op3', 'op4', 'op5', 'op6', 'op7', 'op8', 'op9', 'op10', 'op11']);
    expect(g).toMatchObject({ linked: false, linkAt: T0 + 11 });
    expect(await lib.applyLink(table, tenant.tenantId, { openConversationId: cid, linked: true, at: T0 + 11 }, Date.now())).toBe('stale');
  });
});
