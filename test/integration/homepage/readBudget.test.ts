import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import type { Tenant } from '../../../lib/contracts/tenant';
import type { Table } from '../../../lib/store/table';
import { GROUPS_READ } from '../../../lib/homepage/types';
import { aNotify, aTenant, httpEvent, lambdaContext, signedPush } from '../../support/factories';
import { startDynamoProxy, type DynamoProxy } from '../../support/dynamoProxy';
import { startLocalAws, type LocalAws } from '../../support/localAws';

/**
 * What the public and DingTalk-fed functions (and unpark) read, counted by the request-counting proxy
 * in front of DynamoDB Local: the real handlers (functions/homepage, functions/callback,
 * functions/events, functions/unpark) are imported with their DynamoDB endpoint pointed at the proxy.
 */

type HttpResult = { statusCode: number; body: string };
type HttpHandler = (event: unknown, context: unknown) => Promise<HttpResult>;
type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Most DynamoDB requests one homepage view may cost: tenant, groups (one page), month counter, parked count. */
const HOMEPAGE_READS = 4;

let aws: LocalAws;
let proxy: DynamoProxy;
let homepage: HttpHandler;
let callback: HttpHandler;
let events: SqsHandler;
let unpark: (event: unknown, context: Context) => Promise<{ requeued: number }>;
let table: Table;
let lib: {
  putTenant: typeof import('../../../lib/store/tenants').putTenant;
  applyLink: typeof import('../../../lib/store/groups').applyLink;
  park: typeof import('../../../lib/quota/parking').park;
};

beforeAll(async () => {
  process.env.LOG_LEVEL = 'SILENT';
  aws = await startLocalAws();
  proxy = await startDynamoProxy(aws.env.AWS_ENDPOINT_URL_DYNAMODB);
  // The handlers (imported now, they build their clients at module scope) talk through the proxy.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
  ({ handler: homepage } = (await import('../../../functions/homepage')) as unknown as { handler: HttpHandler });
  ({ handler: callback } = (await import('../../../functions/callback')) as unknown as { handler: HttpHandler });
  ({ handler: events } = (await import('../../../functions/events')) as unknown as { handler: SqsHandler });
  ({ handler: unpark } = (await import('../../../functions/unpark')) as unknown as { handler: typeof unpark });
  const { createTable } = await import('../../../lib/store/table');
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  // The test's own writes go straight to DynamoDB Local: the proxy counts only the handlers.
  table = createTable(aws.tableName, new DynamoDBClient({ endpoint: aws.env.AWS_ENDPOINT_URL_DYNAMODB }));
  lib = {
    putTenant: (await import('../../../lib/store/tenants')).putTenant,
    applyLink: (await import('../../../lib/store/groups')).applyLink,
    park: (await import('../../../lib/quota/parking')).park,
  };
}, 120_000);

afterAll(async () => {
  table?.doc.destroy();
  await proxy?.close();
  await aws?.stop();
});

const hex = () => randomBytes(4).toString('hex');

async function aLinkedTenant(): Promise<Tenant> {
  const tenant = await lib.putTenant(table, aTenant({ corpId: `dingcorp${hex()}` }));
  for (let i = 0; i < 3; i++) {
    await lib.applyLink(table, tenant.tenantId, { openConversationId: `cid${i}${hex()}==`, linked: true, at: Date.now(), coolAppCode: 'COOLAPP-1', robotCode: tenant.clientId, corpId: tenant.corpId }, Date.now());
  }
  return tenant;
}

const view = (tenantId: string, corpId?: string) =>
  homepage(httpEvent({ method: 'GET', path: `/dingtalk/${tenantId}/home`, pathParameters: { tenantId }, ...(corpId ? { query: { corpId } } : {}) }), { ...lambdaContext });

/** The requests (and the partition keys they named) `run` cost. */
async function measured<T>(run: () => Promise<T>): Promise<{ result: T; requests: number; ops: Record<string, number>; keys: string[] }> {
  proxy.reset();
  const result = await run();
  // The proxy records a request's keys once its body has arrived, before it answers: all are in.
  return { result, requests: proxy.total(), ops: Object.fromEntries(proxy.counts), keys: [...proxy.keys] };
}

describe('the homepage costs a fixed number of reads', () => {
  it(`costs at most ${HOMEPAGE_READS} reads per view with nothing parked and with 500 parked messages, and shows the count`, async () => {
    // given: two organisations alike but for 500 parked messages
    const quiet = await aLinkedTenant();
    const parked = await aLinkedTenant();
    for (let i = 0; i < 500; i++) await lib.park(table, parked.corpId, aNotify(parked, { id: `p-${i}` }), 'quota', { tenantId: parked.tenantId, critical: i % 2 === 0 });
    // when
    const a = await measured(() => view(quiet.tenantId, quiet.corpId));
    const b = await measured(() => view(parked.tenantId, parked.corpId));
    // then
    expect(a.result.statusCode).toBe(200);
    expect(b.result.statusCode).toBe(200);
    expect(a.requests).toBeLessThanOrEqual(HOMEPAGE_READS);
    expect(b.requests).toBeLessThanOrEqual(HOMEPAGE_READS);
    expect(b.ops).toEqual(a.ops);
    expect(b.result.body).toContain('500 messages are parked');
    expect(a.result.body).not.toContain('parked');
    // The parked count is the organisation's own item: never the work list of every organisation.
    expect(b.keys).toContain(`ORG#${parked.corpId}`);
    expect(b.keys).not.toContain('PARKED');
  });

  it(`reads one page of at most ${GROUPS_READ} groups, and says when there are more`, async () => {
    const tenant = await lib.putTenant(table, aTenant({ corpId: `dingcorp${hex()}` }));
    for (let i = 0; i < GROUPS_READ + 5; i++) {
      await lib.applyLink(table, tenant.tenantId, { openConversationId: `cid${String(i).padStart(3, '0')}${hex()}==`, linked: true, at: Date.now(), coolAppCode: 'COOLAPP-1', robotCode: tenant.clientId, corpId: tenant.corpId }, Date.now());
    }
    const r = await measured(() => view(tenant.tenantId, tenant.corpId));
    expect(r.result.statusCode).toBe(200);
    expect(r.requests).toBeLessThanOrEqual(HOMEPAGE_READS);
    expect(r.result.body).toContain(`This page reads the first ${GROUPS_READ} groups only: there are more.`);
  });

  it(`with exactly ${GROUPS_READ} groups, shows them all and does not say there are more`, async () => {
    const tenant = await lib.putTenant(table, aTenant({ corpId: `dingcorp${hex()}` }));
    for (let i = 0; i < GROUPS_READ; i++) {
      await lib.applyLink(table, tenant.tenantId, { openConversationId: `cid${String(i).padStart(3, '0')}${hex()}==`, linked: true, at: Date.now(), coolAppCode: 'COOLAPP-1', robotCode: tenant.clientId, corpId: tenant.corpId }, Date.now());
    }
    const r = await measured(() => view(tenant.tenantId, tenant.corpId));
    expect(r.result.body).not.toContain('there are more');
  });

  it('never names a secret partition: not for a linked tenant, an unknown one or another organisation', async () => {
    const tenant = await aLinkedTenant();
    const seen = [
      ...(await measured(() => view(tenant.tenantId, tenant.corpId))).keys,
      ...(await measured(() => view(tenant.tenantId, 'dingothercorp'))).keys,
      ...(await measured(() => view(`nobody-${hex()}`))).keys,
    ];
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((k) => /^(SECRET#|APP#)/.test(k))).toEqual([]);
  });

  it('answers a flood of unknown tenant ids with one read per id per 10 s', async () => {
    const ids = Array.from({ length: 30 }, () => `ghost-${hex()}`);
    const first = await measured(async () => Promise.all(ids.map((id) => view(id))));
    const again = await measured(async () => Promise.all(ids.map((id) => view(id))));
    expect(first.result.every((r) => r.statusCode === 404)).toBe(true);
    expect(again.result.every((r) => r.statusCode === 404)).toBe(true);
    expect(first.requests).toBe(ids.length);
    expect(again.requests).toBe(0);
  });
});

describe('the callback', () => {
  const push = (tenantId: string, tenant: Tenant) => {
    const p = signedPush(tenant, { EventType: 'check_url' });
    return callback(httpEvent({ path: `/dingtalk/${tenantId}/callback`, pathParameters: { tenantId }, query: p.query, body: p.body }), { ...lambdaContext });
  };

  it('answers a flood of unknown tenant ids with one read per id per 10 s', async () => {
    const someone = aTenant();
    const ids = Array.from({ length: 30 }, () => `ghost-${hex()}`);
    const first = await measured(async () => Promise.all(ids.map((id) => push(id, someone))));
    const again = await measured(async () => Promise.all(ids.map((id) => push(id, someone))));
    expect(first.result.map((r) => r.statusCode)).toEqual(ids.map(() => 404));
    expect(again.result.map((r) => r.statusCode)).toEqual(ids.map(() => 404));
    expect(first.requests).toBe(ids.length);
    expect(again.requests).toBe(0);
  });

  it('reads only its own secret item: one GetItem per push of a known tenant', async () => {
    const tenant = await lib.putTenant(table, aTenant());
    const r = await measured(() => push(tenant.tenantId, tenant));
    expect(r.result.statusCode).toBe(200);
    expect(r.ops).toEqual({ GetItem: 1 });
    expect(r.keys).toEqual([`SECRET#CALLBACK#${tenant.tenantId}`]);
  });
});

describe('the unpark function', () => {
  it('re-queues parked messages without naming a secret partition or a Client ID claim', async () => {
    const tenant = await lib.putTenant(table, aTenant({ corpId: `dingcorp${hex()}` }));
    for (let i = 0; i < 3; i++) await lib.park(table, tenant.corpId, aNotify(tenant, { id: `u-${i}-${hex()}` }), 'quota', { tenantId: tenant.tenantId, critical: false });
    const r = await measured(() => unpark({}, { ...lambdaContext } as Context));
    expect(r.result.requeued).toBeGreaterThanOrEqual(3);
    expect(r.keys).toContain(`PARK#${tenant.corpId}`);
    expect(r.keys).toContain(`TENANT#${tenant.tenantId}`);
    expect(r.keys.filter((k) => /^(SECRET#|APP#|CLIENT#)/.test(k))).toEqual([]);
  });
});

describe('the events function', () => {
  const record = (tenantId: string, event: Record<string, unknown>): SQSRecord => ({
    messageId: `m-${hex()}`,
    receiptHandle: `rh-${hex()}`,
    body: JSON.stringify({ tenantId, eventId: `evt-${hex()}`, eventType: event.EventType, receivedAt: new Date().toISOString(), event }),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'x', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:dingtalk-events',
    awsRegion: 'us-east-1',
  });

  it('handles a batch (installs, a rename, an event without CorpId) without naming a secret partition or a tenant write', async () => {
    const tenant = await lib.putTenant(table, aTenant());
    const cid = `cid${hex()}==`;
    const batch = [
      record(tenant.tenantId, { EventType: 'im_cool_app_install', EventTime: String(Date.now()), CorpId: tenant.corpId, coolAppCode: 'COOLAPP-1', robotCode: tenant.clientId, openConversationId: cid, operator: 'm1' }),
      record(tenant.tenantId, { EventType: 'chat_update_title', EventTime: String(Date.now() + 1), openConversationId: cid, title: 'renamed' }),
    ];
    const r = await measured(() => events({ Records: batch }, { ...lambdaContext }));
    expect(r.result.batchItemFailures).toEqual([]);
    expect(r.keys).toContain(`CHATS#${tenant.tenantId}`);
    // The event without CorpId: its organisation comes from the tenant record, never a secret.
    expect(r.keys).toContain(`TENANT#${tenant.tenantId}`);
    expect(r.keys.filter((k) => /^(SECRET#|APP#|CLIENT#)/.test(k))).toEqual([]);
  });
});
