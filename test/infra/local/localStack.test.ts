import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile } from '../../../lib/cli/stackEnv';
import { CALLBACK_ROUTE, CARD_CALLBACK_ROUTE, pathFor } from '../../../lib/contracts/routes';
import { openEnvelope } from '../../../lib/dingtalk/crypto';
import { putCardSecret } from '../../../lib/store/cardSecret';
import { recordCard } from '../../../lib/store/cards';
import { listGroups } from '../../../lib/store/groups';
import { putLink } from '../../../lib/store/links';
import { createTable } from '../../../lib/store/table';
import { putTenant } from '../../../lib/store/tenants';
import { mintLinkUrl } from '../../../lib/links/token';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalStack, type LocalStack } from '../../../infra/local/stack';
import { aTenant, signedPush } from '../../support/factories';

/** What `npm start` gives a user: one process, real services, endpoints in .local/stack.env. */
describe('the local stack (npm start)', () => {
  let stack: LocalStack;
  const envFile = join(mkdtempSync(join(tmpdir(), 'stack-')), 'stack.env');

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, tableName: `stack-${process.pid}`, envFile });
  });
  afterAll(async () => stack?.stop());

  it('writes every endpoint to the env file', () => {
    const env = parseEnvFile(readFileSync(envFile, 'utf8'));
    for (const key of ['API_URL', 'TABLE_NAME', 'AWS_REGION', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SQS', 'EVENTS_QUEUE_URL', 'NOTIFY_QUEUE_URL', 'ACTIONS_QUEUE_URL', 'ACTIONS_DLQ_URL', 'FLASHDUTY_ACTIONS_QUEUE_URL', 'DINGTALK_API_URL', 'FLASHDUTY_API_URL', 'PUBLIC_URL']) {
      expect(env[key]).toBeTruthy();
    }
    expect(env.API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env.FLASHDUTY_API_URL).toBe(stack.flashduty?.url);
    // The sending functions register card callbacks under it (lib/cards/registration.ts).
    expect(env.PUBLIC_URL).toBe(env.API_URL);
    expect(process.env.PUBLIC_URL).toBe(env.API_URL);
  });

  it('serves the link page and links a member over HTTP, publishing member.link on the outbound queue', async () => {
    const table = createTable(stack.env.TABLE_NAME);
    const tenant = await putTenant(table, aTenant());
    stack.simulator!.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: 100, monthlyQuota: 10_000 });
    stack.simulator!.addUser(tenant.corpId, { userId: 'manager4220', name: '张三' });
    const { url } = await mintLinkUrl(table, { publicUrl: stack.env.PUBLIC_URL, tenantId: tenant.tenantId, memberId: '2476444212131', nowMs: Date.now() });
    expect(url.startsWith(`${stack.env.API_URL}/link/${tenant.tenantId}?`)).toBe(true);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain('https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js');
    const q = Object.fromEntries(new URL(url).searchParams);
    const res = await fetch(url.split('?')[0], {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: stack.simulator!.issueAuthCode(tenant.clientId, 'manager4220'), ...q }),
    });
    expect(await res.json()).toEqual({ linked: true, name: '张三' });
    const sqs = new SQSClient({});
    try {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.env.FLASHDUTY_ACTIONS_QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      expect((r.Messages ?? []).map((m) => JSON.parse(m.Body!).action)).toEqual(['member.link']);
    } finally {
      sqs.destroy();
    }
  });

  it('a group renamed over HTTP, signed as DingTalk signs it, shows up in the table', async () => {
    const table = createTable(stack.env.TABLE_NAME);
    const tenant = aTenant();
    await putTenant(table, tenant);
    const push = signedPush(tenant, {
      EventType: 'chat_update_title', eventId: 'ev-stack-1', EventTime: String(Date.now()), CorpId: tenant.corpId,
      OpenConversationId: 'cidStack==', Title: '告警群', operator: 'u1',
    });
    const res = await fetch(`${stack.env.API_URL}${pathFor(CALLBACK_ROUTE, tenant.tenantId)}?${new URLSearchParams(push.query)}`, {
      method: CALLBACK_ROUTE.method, headers: { 'content-type': 'application/json' }, body: push.body,
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as Record<string, string>;
    const app = { token: tenant.token, aesKey: tenant.aesKey, receiverId: tenant.clientId };
    expect(openEnvelope(app, { signature: answer.msg_signature, timestamp: answer.timeStamp, nonce: answer.nonce, encrypt: answer.encrypt })).toBe('success');

    let groups: Awaited<ReturnType<typeof listGroups>> = [];
    for (let i = 0; i < 100 && groups.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      groups = await listGroups(table, tenant.tenantId);
    }
    expect(groups).toEqual([expect.objectContaining({ openConversationId: 'cidStack==', title: '告警群' })]);
  });

  it('a card button pressed in the DingTalk simulator reaches the Flashduty simulator through the card route and the actions poller', async () => {
    const table = createTable(stack.env.TABLE_NAME);
    const sim = stack.simulator!;
    const tenant = aTenant({ actionsVia: 'api', flashdutyAppKey: 'fd-local-app-key', locale: 'en' });
    await putTenant(table, tenant);
    sim.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: 1000, monthlyQuota: 100_000 });
    sim.addUser(tenant.corpId, { userId: 'presser' });
    sim.addCardTemplate(tenant.clientId, { templateId: 'tpl.stack' });
    const call = async (path: string, body: unknown, token?: string) =>
      (await fetch(`${stack.env.DINGTALK_API_URL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token && { 'x-acs-dingtalk-access-token': token }) }, body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
    const { accessToken } = (await call('/v1.0/oauth2/accessToken', { appKey: tenant.clientId, appSecret: tenant.clientSecret })) as { accessToken: string };
    const routeKey = `dtb-${tenant.tenantId}`;
    await putCardSecret(table, tenant.tenantId, { apiSecret: 'stack-card-secret', routeKey });
    await call('/v1.0/card/callbacks/register', { callbackRouteKey: routeKey, callbackUrl: `${stack.env.API_URL}${pathFor(CARD_CALLBACK_ROUTE, tenant.tenantId)}`, apiSecret: 'stack-card-secret', forceUpdate: true }, accessToken);
    const incidentId = '69da451ef77b1b51f40e83ee'; // Triggered in the Flashduty simulator's seed
    await call('/v1.0/card/instances/createAndDeliver', {
      cardTemplateId: 'tpl.stack', outTrackId: 'stack-card-1', openSpaceId: 'dtv1.card//IM_ROBOT.presser', callbackType: 'HTTP', callbackRouteKey: routeKey,
      cardData: { cardParamMap: { status: 'triggered' } }, imRobotOpenSpaceModel: { supportForward: false }, imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: tenant.clientId },
    }, accessToken);
    await recordCard(table, { tenantId: tenant.tenantId, incidentId, outTrackId: 'stack-card-1', space: 'user', to: 'presser', actions: ['ack'], messageId: 'n-stack', createdAt: new Date().toISOString() }, Date.now());
    await putLink(table, tenant.tenantId, { memberId: '2476444212131', userId: 'presser', linkedAt: new Date().toISOString() });

    const pressed = await sim.pressButton({ outTrackId: 'stack-card-1', userId: 'presser', actionId: 'ack', params: { action: 'ack' } });
    expect(pressed.status).toBe(200);
    expect(sim.cardSeenBy('stack-card-1', 'presser')).toMatchObject({ notice: 'Acknowledging…' });
    const fd = stack.flashduty!;
    for (let i = 0; i < 100 && !fd.actions().length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(fd.actions()).toEqual([expect.objectContaining({ api: 'ack', incidentIds: [incidentId] })]);
  });

  it('answers unknown routes 404 like API Gateway', async () => {
    expect((await fetch(`${stack.env.API_URL}/nope`)).status).toBe(404);
  });
});
