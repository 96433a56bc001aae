import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runTenantCli } from '../../../lib/cli/tenant';
import type { QueuedEvent } from '../../../lib/contracts/eventsMessage';
import { decrypt, signature } from '../../../lib/dingtalk/crypto';
import type { Table } from '../../../lib/store/table';
import type { Tenant } from '../../../lib/contracts/tenant';
import { aTenant, httpEvent, lambdaContext, signedPush } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

/**
 * The callback Lambda end to end on the real local services (DynamoDB Local + SQS server): tenants
 * are written with the store code the CLI uses, pushes are signed the way DingTalk signs them.
 */

type HttpResult = { statusCode: number; headers: Record<string, string>; body: string };
type Handler = (event: unknown, context: unknown) => Promise<HttpResult>;

let aws: LocalAws;
let handler: Handler;
let table: Table;
let putTenant: (table: Table, input: unknown) => Promise<Tenant>;
let sqs: SQSClient;

beforeAll(async () => {
  aws = await startLocalAws();
  // Import only now: the handler reads its configuration and creates its clients at module scope.
  ({ handler } = (await import('../../../functions/callback')) as unknown as { handler: Handler });
  ({ putTenant } = await import('../../../lib/store/tenants'));
  const { createTable } = await import('../../../lib/store/table');
  table = createTable(aws.tableName);
  sqs = new SQSClient({
    region: aws.env.AWS_REGION,
    endpoint: aws.env.AWS_ENDPOINT_URL_SQS,
    credentials: { accessKeyId: aws.env.AWS_ACCESS_KEY_ID, secretAccessKey: aws.env.AWS_SECRET_ACCESS_KEY },
  });
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  table?.doc.destroy();
  await aws?.stop();
});

beforeEach(async () => {
  await drainEvents();
});

// ---- helpers and small factories ---------------------------------------------------------------

/** A tenant written to DynamoDB Local through the store, as `npm run tenant -- put` does. */
async function aStoredTenant(over: Partial<Tenant> = {}): Promise<Tenant> {
  return putTenant(table, aTenant(over));
}

/** The API Gateway event DingTalk's push for `event` produces at the tenant's callback URL. */
function aCallback(tenant: Tenant, event: Record<string, unknown>, opts: Parameters<typeof signedPush>[2] = {}) {
  const push = signedPush(tenant, event, opts);
  return callbackEvent(tenant.tenantId, push.query, push.body);
}

function callbackEvent(tenantId: string, query: Record<string, string> | undefined, body: string | undefined) {
  const path = `/dingtalk/${tenantId}/callback`;
  return httpEvent({ path, pathParameters: { tenantId }, query, body });
}

/** Invokes the Lambda handler, capturing everything it logs (stdout, stderr and console). */
async function invoke(event: unknown): Promise<{ res: HttpResult; logs: string }> {
  const captured: string[] = [];
  const record = (...args: unknown[]) => void captured.push(args.map((a) => (typeof a === 'string' ? a : Buffer.isBuffer(a) ? a.toString('utf8') : JSON.stringify(a))).join(' '));
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => (record(chunk), true)) as never),
    jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => (record(chunk), true)) as never),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation(record)),
  ];
  try {
    const res = await handler(event, { ...lambdaContext, awsRequestId: `req-${randomBytes(4).toString('hex')}` });
    return { res, logs: captured.join('\n') };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

/**
 * Reads (and deletes) everything on the events queue; waits `waitSeconds` for the first batch. No
 * wait by default: the handler has queued its event (or not) before it answers.
 */
async function receiveEvents(waitSeconds = 0): Promise<QueuedEvent[]> {
  const out: Message[] = [];
  for (let wait = waitSeconds; ; wait = 0) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.eventsQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }));
    const batch = r.Messages ?? [];
    if (batch.length === 0) break;
    out.push(...batch);
    for (const m of batch) await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.eventsQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
  }
  return out.map((m) => JSON.parse(m.Body!) as QueuedEvent);
}

const drainEvents = async () => void (await receiveEvents(0));

/** What the table holds besides tenant records (the callback must store nothing). */
async function nonTenantItems(): Promise<unknown[]> {
  const r = await table.doc.send(new ScanCommand({ TableName: aws.tableName }));
  // What `tenant put` writes: the record, its secret items and its Client ID claim.
  return (r.Items ?? []).filter((i) => !['TENANT', 'SECRET', 'CLIENT'].includes(String(i.sk)));
}

const secretsOf = (t: Tenant) => [t.token, t.aesKey, t.clientSecret];

const titleChanged = (title: string) => ({
  EventType: 'chat_update_title',
  eventId: `evt-${randomBytes(6).toString('hex')}`,
  EventTime: Date.now(),
  CorpId: 'ding-corp-1',
  chatId: 'chat-1',
  openConversationId: `cid${randomBytes(6).toString('hex')}`,
  title,
  operator: 'manager4220',
  timeStamp: Date.now(),
});

// ---- accepted pushes ---------------------------------------------------------------------------

describe('DingTalk callback (real local services)', () => {
  it('the URL check on Save is answered with an encrypted, signed "success" and nothing is queued', async () => {
    // given
    const tenant = await aStoredTenant();
    // when
    const { res, logs } = await invoke(aCallback(tenant, { EventType: 'check_url' }));
    // then
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const answer = JSON.parse(res.body);
    expect(Object.keys(answer).sort()).toEqual(['encrypt', 'msg_signature', 'nonce', 'timeStamp']);
    expect(Object.values(answer).every((v) => typeof v === 'string')).toBe(true);
    expect(answer.msg_signature).toBe(signature(tenant.token, answer.timeStamp, answer.nonce, answer.encrypt));
    expect(decrypt(tenant.aesKey, answer.encrypt)).toMatchObject({ message: 'success', receiverId: tenant.clientId });
    for (const s of secretsOf(tenant)) expect(res.body + logs).not.toContain(s);
    expect(await receiveEvents()).toEqual([]);
  });

  it('a renamed group with a Chinese title is queued with tenant, event id, type and the title byte-exact', async () => {
    // given
    const tenant = await aStoredTenant();
    const title = '支付服务 P1 故障作战室🔥';
    const event = titleChanged(title);
    // when
    const { res } = await invoke(aCallback(tenant, event));
    // then
    expect(res.statusCode).toBe(200);
    expect(decrypt(tenant.aesKey, JSON.parse(res.body).encrypt).message).toBe('success');
    const queued = await receiveEvents();
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ tenantId: tenant.tenantId, eventId: event.eventId, eventType: 'chat_update_title' });
    const queuedTitle = queued[0].event.title as string;
    expect(Buffer.from(queuedTitle, 'utf8').equals(Buffer.from(title, 'utf8'))).toBe(true);
    expect(queued[0].event).toEqual(event);
    expect(res.body).not.toContain(title);
  });

  it('a cool app installed in a group is queued', async () => {
    // given
    const tenant = await aStoredTenant();
    const event = {
      EventType: 'im_cool_app_install',
      eventId: `evt-${randomBytes(6).toString('hex')}`,
      EventTime: Date.now(),
      CorpId: 'ding-corp-1',
      coolAppCode: 'COOLAPP-1-abc',
      robotCode: tenant.clientId,
      openConversationId: 'cidInstall==',
      openConversationCorpId: 'ding-corp-1',
      operator: 'manager4220',
      operateTime: String(Date.now()),
    };
    // when
    const { res } = await invoke(aCallback(tenant, event));
    // then
    expect(res.statusCode).toBe(200);
    const queued = await receiveEvents();
    expect(queued).toMatchObject([{ tenantId: tenant.tenantId, eventId: event.eventId, eventType: 'im_cool_app_install', event }]);
  });

  it('a signed event carrying characters SQS refuses raw (U+FFFE, U+FFFF) is queued, escaped, byte-exact', async () => {
    const tenant = await aStoredTenant();
    const event = titleChanged('odd \uFFFE title \uFFFF');
    const { res } = await invoke(aCallback(tenant, event));
    expect(res.statusCode).toBe(200);
    const [queued] = await receiveEvents();
    expect(queued.event.title).toBe('odd \uFFFE title \uFFFF');
  });

  it('the older `signature` parameter name is accepted', async () => {
    const tenant = await aStoredTenant();
    const push = signedPush(tenant, { EventType: 'check_url' });
    const { msg_signature, ...rest } = push.query;
    const { res } = await invoke(callbackEvent(tenant.tenantId, { ...rest, signature: msg_signature }, push.body));
    expect(res.statusCode).toBe(200);
    expect(decrypt(tenant.aesKey, JSON.parse(res.body).encrypt).message).toBe('success');
    expect(await receiveEvents()).toEqual([]);
  });

  // ---- rejected pushes -------------------------------------------------------------------------

  describe('a rejected push gets a 4xx JSON error, echoes no secret or payload, and queues nothing', () => {
    const secretTitle = '绝密并购项目群';

    type Case = { name: string; status: number; reason: RegExp; build: (tenant: Tenant) => unknown };
    const cases: Case[] = [
      {
        name: 'unknown tenant',
        status: 404,
        reason: /unknown tenant/,
        build: (t) => aCallback({ ...t, tenantId: `missing-${randomBytes(3).toString('hex')}` }, titleChanged(secretTitle)),
      },
      {
        name: 'a tenant id longer than a DynamoDB key (forged URL, 3,000 characters)',
        status: 404,
        reason: /unknown tenant/,
        build: (t) => {
          const push = signedPush(t, titleChanged(secretTitle));
          return callbackEvent('x'.repeat(3000), push.query, push.body);
        },
      },
      { name: 'forged signature', status: 401, reason: /signature mismatch/, build: (t) => aCallback(t, titleChanged(secretTitle), { token: 'forgedToken123' }) },
      {
        name: 'tampered msg_signature',
        status: 401,
        reason: /signature mismatch/,
        build: (t) => {
          const push = signedPush(t, titleChanged(secretTitle));
          return callbackEvent(t.tenantId, { ...push.query, msg_signature: randomBytes(20).toString('hex') }, push.body);
        },
      },
      { name: 'wrong receiver id', status: 401, reason: /receiver id mismatch/, build: (t) => aCallback(t, titleChanged(secretTitle), { receiverId: 'dingSomeOtherApp' }) },
      {
        name: 'stale timestamp (1 h + 5 s)',
        status: 401,
        reason: /timestamp/,
        build: (t) => aCallback(t, titleChanged(secretTitle), { timestamp: String(Date.now() - 3_605_000) }),
      },
      {
        name: 'timestamp from the future (1 h + 5 s)',
        status: 401,
        reason: /timestamp/,
        build: (t) => aCallback(t, titleChanged(secretTitle), { timestamp: String(Date.now() + 3_605_000) }),
      },
      {
        name: 'malformed body',
        status: 400,
        reason: /not JSON/,
        build: (t) => callbackEvent(t.tenantId, signedPush(t, titleChanged(secretTitle)).query, '{"encrypt": oops'),
      },
      { name: 'missing query', status: 400, reason: /missing query parameter/, build: (t) => callbackEvent(t.tenantId, undefined, signedPush(t, titleChanged(secretTitle)).body) },
      {
        name: '65 KiB body',
        status: 413,
        reason: /larger than/,
        build: (t) => callbackEvent(t.tenantId, signedPush(t, titleChanged(secretTitle)).query, JSON.stringify({ encrypt: 'A'.repeat(65 * 1024) })),
      },
    ];

    it.each(cases)('$name -> $status', async ({ status, reason, build }) => {
      // given
      const tenant = await aStoredTenant();
      // when
      const { res, logs } = await invoke(build(tenant));
      // then
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body = JSON.parse(res.body);
      expect(typeof body.error).toBe('string');
      expect(body.message).toMatch(reason);
      for (const s of [...secretsOf(tenant), secretTitle]) {
        expect(res.body).not.toContain(s);
        expect(logs).not.toContain(s);
      }
      expect(logs).toContain('request rejected');
      expect(await receiveEvents()).toEqual([]);
      expect(await nonTenantItems()).toEqual([]);
    });
  });

  // ---- logs ------------------------------------------------------------------------------------

  it('logs an accepted event without its secrets or its decrypted content', async () => {
    // given
    const tenant = await aStoredTenant();
    const title = '董事会机密讨论群🔒';
    const event = titleChanged(title);
    // when
    const { res, logs } = await invoke(aCallback(tenant, event));
    // then the capture worked and shows the event by id only
    expect(res.statusCode).toBe(200);
    expect(logs).toContain('callback accepted');
    expect(logs).toContain(event.eventId);
    expect(logs).toContain(tenant.tenantId);
    for (const s of [...secretsOf(tenant), title, JSON.stringify(title).slice(1, -1), event.openConversationId]) expect(logs).not.toContain(s);
    expect(await receiveEvents()).toHaveLength(1);
  });
});

// ---- rotating aesKey and token -----------------------------------------------------------------

describe('rotating the aesKey and token with `npm run tenant -- set` (real local services)', () => {
  /** Replaces the tenant's aesKey and token with the CLI, its clock at `at`; the tenant as DingTalk will hold it next. */
  async function rotate(tenant: Tenant, at: number, grace = '24h'): Promise<Tenant> {
    const fresh = aTenant();
    const dir = mkdtempSync(join(tmpdir(), 'rotate-'));
    writeFileSync(join(dir, 'token'), fresh.token);
    const err: string[] = [];
    const code = await runTenantCli(['set', tenant.tenantId, 'aesKey=-', `token=@${join(dir, 'token')}`, '--grace', grace], {
      table,
      out: () => undefined,
      err: (l) => err.push(l),
      stdin: Readable.from([fresh.aesKey]),
      now: () => at,
    });
    expect({ code, err }).toEqual({ code: 0, err: [] });
    return { ...tenant, aesKey: fresh.aesKey, token: fresh.token };
  }

  /** The answer opens with exactly this token and aesKey. */
  function expectAnsweredWith(res: HttpResult, secrets: Tenant) {
    expect(res.statusCode).toBe(200);
    const answer = JSON.parse(res.body);
    expect(answer.msg_signature).toBe(signature(secrets.token, answer.timeStamp, answer.nonce, answer.encrypt));
    expect(decrypt(secrets.aesKey, answer.encrypt)).toMatchObject({ message: 'success', receiverId: secrets.clientId });
  }

  it('while DingTalk still holds the old pair its pushes are accepted and answered with the old pair; the new pair is answered with the new', async () => {
    // given
    const old = await aStoredTenant();
    const next = await rotate(old, Date.now());
    // when DingTalk has not been updated yet
    const before = await invoke(aCallback(old, titleChanged('renamed before the console was saved')));
    // then
    expectAnsweredWith(before.res, old);
    expect(before.logs).toMatch(/"previousSecret":\s*true/);
    expect(await receiveEvents()).toHaveLength(1);
    // when the console is saved with the new pair: its URL check, then events
    expectAnsweredWith((await invoke(aCallback(next, { EventType: 'check_url' }))).res, next);
    expectAnsweredWith((await invoke(aCallback(next, titleChanged('renamed after')))).res, next);
    expect(await receiveEvents()).toHaveLength(1);
  });

  it('after the window the old pair is refused (401) and nothing is queued; the new pair still works', async () => {
    // given a rotation 25 hours ago with the default 24-hour window
    const old = await aStoredTenant();
    const next = await rotate(old, Date.now() - 25 * 3600 * 1000);
    // when
    const late = await invoke(aCallback(old, titleChanged('too late')));
    // then
    expect(late.res.statusCode).toBe(401);
    expect(JSON.parse(late.res.body).message).toMatch(/signature mismatch/);
    expect(await receiveEvents()).toEqual([]);
    expectAnsweredWith((await invoke(aCallback(next, titleChanged('fine')))).res, next);
  });

  it('with --grace 0 the old pair is refused at once', async () => {
    const old = await aStoredTenant();
    await rotate(old, Date.now(), '0');
    expect((await invoke(aCallback(old, { EventType: 'check_url' }))).res.statusCode).toBe(401);
  });
});
