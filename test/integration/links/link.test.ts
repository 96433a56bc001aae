import { createHash } from 'node:crypto';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { HttpHandler } from '../../../infra/local/httpApi';
import type { Simulator } from '../../../infra/local/dingtalkSimulator/simulator';
import type { Table } from '../../../lib/store/table';
import type { Tenant } from '../../../lib/contracts/tenant';
import type { ActionsMessage } from '../../../lib/contracts/actionsMessage';
import { aTenant, httpEvent, lambdaContext } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

/**
 * The link function end to end (docs/two-way.md, "Linking"): DynamoDB Local, the SQS server (the
 * outbound actions queue Flashduty reads) and the DingTalk simulator, whose auth codes are minted
 * as `dd.requestAuthCode` would and exchanged by getuserinfo (docs/dingtalk-api.md §10).
 */

type HttpResult = { statusCode: number; headers: Record<string, string>; body: string };

const PUBLIC_URL = 'https://bridge.example.com';
const JSAPI = 'https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js';

let aws: LocalAws;
let sim: Simulator;
let sqs: SQSClient;
let table: Table;
let handler: HttpHandler;
let lib: {
  mintLinkUrl: typeof import('../../../lib/links/token').mintLinkUrl;
  getUserLink: typeof import('../../../lib/store/links').getUserLink;
  getMemberLinks: typeof import('../../../lib/store/links').getMemberLinks;
  parseActionsMessage: typeof import('../../../lib/contracts/actionsMessage').parseActionsMessage;
  usage: typeof import('../../../lib/quota/counter').usage;
};
/** The simulator's clock runs this far ahead of ours (to expire auth codes). */
let skewMs = 0;
let tenant: Tenant;
let seq = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  const { startSimulator } = await import('../../../infra/local/dingtalkSimulator/simulator');
  sim = await startSimulator({ now: () => Date.now() + skewMs });
  Object.assign(process.env, { DINGTALK_API_URL: sim.url, DINGTALK_OAPI_URL: sim.oapiUrl, PUBLIC_URL, DINGTALK_TIMEOUT_MS: '2000' });
  // Only now: the handler reads its configuration and creates its clients at module scope.
  ({ handler } = (await import('../../../functions/link')) as unknown as { handler: HttpHandler });
  const { createTable } = await import('../../../lib/store/table');
  const { putTenant } = await import('../../../lib/store/tenants');
  const { mintLinkUrl } = await import('../../../lib/links/token');
  const { getUserLink, getMemberLinks } = await import('../../../lib/store/links');
  const { parseActionsMessage } = await import('../../../lib/contracts/actionsMessage');
  const { usage } = await import('../../../lib/quota/counter');
  lib = { mintLinkUrl, getUserLink, getMemberLinks, parseActionsMessage, usage };
  table = createTable(aws.tableName);
  sqs = new SQSClient({});
  tenant = await putTenant(table, aTenant({ corpId: 'dingcorplink01', clientId: 'dinglinkapp01' }));
  sim.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: 1000, monthlyQuota: 100_000 });
  sim.addUser(tenant.corpId, { userId: 'manager4220', name: '张三' });
  sim.addUser(tenant.corpId, { userId: 'dev0042', name: 'Li Si' });
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  table?.doc.destroy();
  await sim?.close();
  await aws?.stop();
});

beforeEach(async () => {
  skewMs = 0;
  sim.reset();
  await takeActions();
});

// ---- helpers -----------------------------------------------------------------------------------

/** A fresh member id for each test: links of one test never meet another's. */
const aMember = () => `24764442${String(++seq).padStart(5, '0')}`;

async function linkParams(memberId: string, nowMs = Date.now(), days?: number): Promise<{ m: string; e: string; s: string; url: string }> {
  const { url } = await lib.mintLinkUrl(table, { publicUrl: PUBLIC_URL, tenantId: tenant.tenantId, memberId, nowMs, days });
  const q = new URL(url).searchParams;
  return { m: q.get('m')!, e: q.get('e')!, s: q.get('s')!, url };
}

/** Invokes the handler, capturing everything it logs. */
async function invoke(event: unknown): Promise<{ res: HttpResult; logs: string }> {
  const captured: string[] = [];
  const record = (...args: unknown[]) => void captured.push(args.map((a) => (typeof a === 'string' ? a : Buffer.isBuffer(a) ? a.toString('utf8') : JSON.stringify(a))).join(' '));
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => (record(chunk), true)) as never),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation(record)),
  ];
  try {
    const res = (await handler(event as never, lambdaContext)) as HttpResult;
    return { res, logs: captured.join('\n') };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

const page = (query: Record<string, string>, lang = 'en', tenantId = tenant.tenantId) =>
  invoke(httpEvent({ method: 'GET', path: `/link/${tenantId}`, pathParameters: { tenantId }, query, headers: { 'accept-language': lang } }));

const post = (body: unknown, tenantId = tenant.tenantId) =>
  invoke(httpEvent({ method: 'POST', path: `/link/${tenantId}`, pathParameters: { tenantId }, body: typeof body === 'string' ? body : JSON.stringify(body) }));

/** Every message on the outbound actions queue, removed from it. */
async function takeActions(): Promise<ActionsMessage[]> {
  const out: ActionsMessage[] = [];
  for (let empty = 0; empty < 2; ) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.flashdutyActionsQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!r.Messages?.length) {
      empty++;
      continue;
    }
    for (const m of r.Messages) {
      const parsed = lib.parseActionsMessage(m.Body);
      if (!parsed.ok) throw new Error(parsed.reason);
      out.push(parsed.message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.flashdutyActionsQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
  return out;
}

const userInfoCalls = () => sim.calls.filter((c) => c.api === 'getUserInfo');

// ---- the page ----------------------------------------------------------------------------------

describe('GET /link/{tenantId}', () => {
  it.each([
    ['en', 'en', 'Link DingTalk to Flashduty'],
    ['zh-CN,zh;q=0.9', 'zh-CN', '关联钉钉与 Flashduty'],
  ])('renders the page for Accept-Language %s with a CSP that allows only the JSAPI and its own script', async (header, lang, title) => {
    const memberId = aMember();
    const { m, e, s } = await linkParams(memberId);
    const { res } = await page({ m, e, s }, header);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-language']).toBe(lang);
    expect(res.body).toContain(`<html lang="${lang}">`);
    expect(res.body).toContain(title);
    expect(res.body).toContain(`<code>${memberId}</code>`);
    // The tenant's public identifiers, for dd.requestAuthCode; never its secret.
    expect(res.body).toContain(`data-corp="${tenant.corpId}"`);
    expect(res.body).toContain(`data-client="${tenant.clientId}"`);
    expect(res.body).not.toContain(tenant.clientSecret);
    expect(res.body).toContain(`<script src="${JSAPI}"></script>`);

    const csp = res.headers['content-security-policy'];
    const directives = Object.fromEntries(csp.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['connect-src']).toEqual(["'self'"]);
    expect(directives['form-action']).toEqual(["'none'"]);
    // Every inline script of the page is allowed by its hash, and nothing else runs.
    const inline = [...res.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((x) => `'sha256-${createHash('sha256').update(x[1], 'utf8').digest('base64')}'`);
    expect(inline).toHaveLength(1);
    expect(directives['script-src'].sort()).toEqual([JSAPI, ...inline].sort());
    expect(res.body).not.toMatch(/\son[a-z]+=/i);
    expect(userInfoCalls()).toHaveLength(0);
  });

  it.each([
    ['en', 'This link is not valid'],
    ['zh-CN', '此链接无效'],
  ])('refuses a tampered link with a 400 page (%s)', async (lang, text) => {
    const { e, s } = await linkParams(aMember());
    const { res } = await page({ m: aMember(), e, s }, lang);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain(text);
    expect(res.body).not.toContain('requestAuthCode');
  });

  it('refuses an expired link with a 410 page, and another tenant’s link with a 400', async () => {
    const { m, e, s } = await linkParams(aMember(), Date.now() - 8 * 86_400_000);
    expect((await page({ m, e, s })).res.statusCode).toBe(410);
    expect((await page({ m, e, s }, 'zh-CN')).res.body).toContain('此链接已过期');
    const fresh = await linkParams(aMember());
    expect((await page({ m: fresh.m, e: fresh.e, s: fresh.s }, 'en', 'some-other-tenant')).res.statusCode).toBe(400);
  });
});

// ---- the POST ----------------------------------------------------------------------------------

describe('POST /link/{tenantId}', () => {
  it('links the auth code’s user to the member: both items, the name, one member.link on the outbound queue', async () => {
    const memberId = aMember();
    const { m, e, s } = await linkParams(memberId);
    const code = sim.issueAuthCode(tenant.clientId, 'manager4220');
    const before = (await lib.usage(table, tenant.corpId)).used;
    const { res, logs } = await post({ code, m, e, s });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ linked: true, name: '张三' });

    expect(await lib.getUserLink(table, tenant.tenantId, 'manager4220')).toMatchObject({ memberId, userId: 'manager4220', name: '张三' });
    expect((await lib.getMemberLinks(table, tenant.tenantId, [memberId])).get(memberId)).toMatchObject({ memberId, userId: 'manager4220', name: '张三' });

    const actions = await takeActions();
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ version: 1, action: 'member.link', tenantId: tenant.tenantId, by: { dingtalkUserId: 'manager4220', memberId, name: '张三' } });

    // One exchange, through the app's token and the gate (counted on the month's counter, §10's safe side); nothing secret in the logs.
    expect(userInfoCalls()).toHaveLength(1);
    expect((await lib.usage(table, tenant.corpId)).used).toBe(before + 1);
    for (const secret of [code, s, tenant.clientSecret]) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/access_token=/);
  });

  it('refuses a used code and records nothing', async () => {
    const first = aMember();
    const a = await linkParams(first);
    const code = sim.issueAuthCode(tenant.clientId, 'dev0042');
    expect((await post({ code, ...a })).res.statusCode).toBe(200);
    await takeActions();

    const second = aMember();
    const b = await linkParams(second);
    const { res } = await post({ code, m: b.m, e: b.e, s: b.s });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'code_refused' });
    expect((await lib.getMemberLinks(table, tenant.tenantId, [second])).size).toBe(0);
    expect((await lib.getUserLink(table, tenant.tenantId, 'dev0042'))?.memberId).toBe(first);
    expect(await takeActions()).toEqual([]);
  });

  it('refuses an expired code and records nothing', async () => {
    const memberId = aMember();
    const p = await linkParams(memberId);
    const code = sim.issueAuthCode(tenant.clientId, 'manager4220');
    skewMs = 5 * 60_000 + 1000; // §10: a code lives 5 minutes
    const { res } = await post({ code, m: p.m, e: p.e, s: p.s });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'code_refused' });
    expect(userInfoCalls()).toHaveLength(1);
    expect((await lib.getMemberLinks(table, tenant.tenantId, [memberId])).size).toBe(0);
    expect(await takeActions()).toEqual([]);
  });

  it('refuses a bad or expired link before any DingTalk call, leaving the code unused', async () => {
    const memberId = aMember();
    const p = await linkParams(memberId);
    const code = sim.issueAuthCode(tenant.clientId, 'manager4220');
    const tampered = await post({ code, m: aMember(), e: p.e, s: p.s });
    expect(tampered.res.statusCode).toBe(400);
    expect(JSON.parse(tampered.res.body)).toMatchObject({ error: 'link_invalid' });
    const old = await linkParams(memberId, Date.now() - 8 * 86_400_000);
    const expired = await post({ code, m: old.m, e: old.e, s: old.s });
    expect(expired.res.statusCode).toBe(410);
    expect(JSON.parse(expired.res.body)).toMatchObject({ error: 'link_expired' });
    expect((await post({ code, m: p.m, e: p.e, s: 'A'.repeat(43) })).res.statusCode).toBe(400);
    expect((await post('not json')).res.statusCode).toBe(400);
    expect(sim.calls.filter((c) => c.api === 'getUserInfo' || c.api === 'token')).toEqual([]);
    expect(await takeActions()).toEqual([]);
    // Never presented to DingTalk, the code still works.
    expect((await post({ code, ...p })).res.statusCode).toBe(200);
  });

  it('a second link of the same member (a new URL) replaces the first pairing', async () => {
    const memberId = aMember();
    const p = await linkParams(memberId);
    const q = await linkParams(memberId, Date.now() + 1000);
    expect((await post({ code: sim.issueAuthCode(tenant.clientId, 'manager4220'), ...p })).res.statusCode).toBe(200);
    expect((await post({ code: sim.issueAuthCode(tenant.clientId, 'dev0042'), ...q })).res.statusCode).toBe(200);
    expect((await lib.getMemberLinks(table, tenant.tenantId, [memberId])).get(memberId)?.userId).toBe('dev0042');
    expect((await lib.getUserLink(table, tenant.tenantId, 'manager4220'))?.memberId).not.toBe(memberId);
    const actions = await takeActions();
    expect(actions.map((a) => a.by.dingtalkUserId)).toEqual(['manager4220', 'dev0042']);
    expect(new Set(actions.map((a) => a.id)).size).toBe(2);
  });

  it('a link URL links once: a forwarded URL opened again is refused (page and POST) and changes nothing', async () => {
    const memberId = aMember();
    const p = await linkParams(memberId);
    expect((await post({ code: sim.issueAuthCode(tenant.clientId, 'manager4220'), ...p })).res.statusCode).toBe(200);
    expect(await takeActions()).toHaveLength(1);

    const again = await post({ code: sim.issueAuthCode(tenant.clientId, 'dev0042'), ...p });
    expect(again.res.statusCode).toBe(410);
    expect(JSON.parse(again.res.body)).toMatchObject({ error: 'link_used', message: expect.stringContaining('this link was already used: ask Flashduty for a new one') });
    expect((await lib.getMemberLinks(table, tenant.tenantId, [memberId])).get(memberId)?.userId).toBe('manager4220');
    expect((await lib.getUserLink(table, tenant.tenantId, 'dev0042'))?.memberId).not.toBe(memberId);
    expect(await takeActions()).toEqual([]);
    // Refused before any DingTalk call: only the first use exchanged a code.
    expect(userInfoCalls()).toHaveLength(1);

    const en = await page({ m: p.m, e: p.e, s: p.s });
    expect(en.res.statusCode).toBe(410);
    expect(en.res.body).toContain('This link was already used: ask Flashduty for a new one.');
    expect(en.res.body).not.toContain('requestAuthCode');
    expect((await page({ m: p.m, e: p.e, s: p.s }, 'zh-CN')).res.body).toContain('此链接已被使用过：请向 Flashduty 索取新的链接。');
    // A new URL for the member still links.
    expect((await post({ code: sim.issueAuthCode(tenant.clientId, 'manager4220'), ...(await linkParams(memberId, Date.now() + 1000)) })).res.statusCode).toBe(200);
  });

  it('a refused code does not use the link up: the next sign-in with it links', async () => {
    const memberId = aMember();
    const p = await linkParams(memberId);
    const code = sim.issueAuthCode(tenant.clientId, 'manager4220');
    expect((await post({ code, ...p })).res.statusCode).toBe(200);
    await takeActions();
    const q = await linkParams(aMember(), Date.now() + 1000);
    expect((await post({ code, ...q })).res.statusCode).toBe(400); // the used code
    expect((await page({ m: q.m, e: q.e, s: q.s })).res.statusCode).toBe(200);
    expect((await post({ code: sim.issueAuthCode(tenant.clientId, 'dev0042'), ...q })).res.statusCode).toBe(200);
    expect((await lib.getMemberLinks(table, tenant.tenantId, [q.m])).get(q.m)?.userId).toBe('dev0042');
  });

  it('two uses of one URL at once: one links, the other is refused and writes nothing', async () => {
    const memberId = aMember();
    const p = await linkParams(memberId);
    const [a, b] = await Promise.all([
      post({ code: sim.issueAuthCode(tenant.clientId, 'manager4220'), ...p }),
      post({ code: sim.issueAuthCode(tenant.clientId, 'dev0042'), ...p }),
    ]);
    const statuses = [a.res.statusCode, b.res.statusCode].sort();
    expect(statuses).toEqual([200, 410]);
    const winner = a.res.statusCode === 200 ? 'manager4220' : 'dev0042';
    const loser = winner === 'manager4220' ? 'dev0042' : 'manager4220';
    expect((await lib.getMemberLinks(table, tenant.tenantId, [memberId])).get(memberId)?.userId).toBe(winner);
    expect((await lib.getUserLink(table, tenant.tenantId, loser))?.memberId).not.toBe(memberId);
    const actions = await takeActions();
    expect(actions.map((x) => x.by.dingtalkUserId)).toEqual([winner]);

    // The loser of the race past the first check: its conditional use fails and its link is not written.
    const { putLink } = await import('../../../lib/store/links');
    const late = await putLink(table, tenant.tenantId, { memberId, userId: loser, linkedAt: new Date().toISOString() }, { signature: p.s, expiresAt: Number(p.e) });
    expect(late).toEqual({ used: true });
    expect((await lib.getMemberLinks(table, tenant.tenantId, [memberId])).get(memberId)?.userId).toBe(winner);
    expect((await lib.getUserLink(table, tenant.tenantId, loser))?.memberId).not.toBe(memberId);
  });

  it('a failed member.link publish answers 500 and leaves the URL usable: opened again, it links and publishes', async () => {
    const memberId = aMember();
    const p = await linkParams(memberId);
    const original = SQSClient.prototype.send;
    let failures = 1;
    const spy = jest.spyOn(SQSClient.prototype, 'send').mockImplementation(function (this: SQSClient, cmd: unknown, ...rest: unknown[]) {
      const input = (cmd as { input?: { QueueUrl?: string; MessageBody?: string } }).input;
      if (input?.MessageBody !== undefined && input.QueueUrl === aws.flashdutyActionsQueueUrl && failures > 0) {
        failures--;
        return Promise.reject(Object.assign(new Error('injected: SQS unavailable'), { name: 'ServiceUnavailable' }));
      }
      return (original as (...a: unknown[]) => unknown).call(this, cmd, ...rest);
    } as never);
    try {
      expect((await post({ code: sim.issueAuthCode(tenant.clientId, 'manager4220'), ...p })).res.statusCode).toBe(500);
    } finally {
      spy.mockRestore();
    }
    expect(await takeActions()).toEqual([]);
    expect((await page({ m: p.m, e: p.e, s: p.s })).res.statusCode).toBe(200);
    expect((await post({ code: sim.issueAuthCode(tenant.clientId, 'manager4220'), ...p })).res.statusCode).toBe(200);
    expect((await takeActions()).map((a) => [a.by.memberId, a.by.dingtalkUserId])).toEqual([[memberId, 'manager4220']]);
    // and now it is used
    expect((await post({ code: sim.issueAuthCode(tenant.clientId, 'dev0042'), ...p })).res.statusCode).toBe(410);
  });
});
