import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { startHttpApi, type HttpHandler } from '../../../infra/local/httpApi';
import { parseActionsMessage, type ActionsMessage } from '../../../lib/contracts/actionsMessage';
import { CARD_CALLBACK_ROUTE } from '../../../lib/contracts/routes';
import type { Tenant } from '../../../lib/contracts/tenant';
import type { Table } from '../../../lib/store/table';
import { aTenant } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';
import { APP, CORP, PATHS, dmCard, harness, type Harness } from '../../infra/local/simulatorClient';

/**
 * The card callback end to end (docs/two-way.md, "The card callback"): the DingTalk simulator signs
 * and posts each press (docs/dingtalk-api.md §9.4) to the callback function behind the local HTTP
 * API, on DynamoDB Local and the SQS server; what reaches the actions queue is read back.
 */

let aws: LocalAws;
let h: Harness;
let api: { url: string; server: Server };
let table: Table;
let sqs: SQSClient;
let tenant: Tenant;
let stores: {
  putTenant: typeof import('../../../lib/store/tenants').putTenant;
  putCardSecret: typeof import('../../../lib/store/cardSecret').putCardSecret;
  recordCard: typeof import('../../../lib/store/cards').recordCard;
  putIncidentState: typeof import('../../../lib/store/cards').putIncidentState;
  putLink: typeof import('../../../lib/store/links').putLink;
};
const apiSecret = randomBytes(18).toString('base64');
const MEMBER = '2476444212131';

beforeAll(async () => {
  aws = await startLocalAws();
  // Only now: the handler reads its configuration at module scope.
  const { handler } = (await import('../../../functions/callback')) as unknown as { handler: HttpHandler };
  const { createTable } = await import('../../../lib/store/table');
  const { putTenant } = await import('../../../lib/store/tenants');
  const { putCardSecret } = await import('../../../lib/store/cardSecret');
  const { recordCard, putIncidentState } = await import('../../../lib/store/cards');
  const { putLink } = await import('../../../lib/store/links');
  stores = { putTenant, putCardSecret, recordCard, putIncidentState, putLink };
  table = createTable(aws.tableName);
  sqs = new SQSClient({});
  api = await startHttpApi([{ ...CARD_CALLBACK_ROUTE, handler: async () => handler }], 0);
  h = await harness();
  // The simulator's clock follows the wall clock here (presses are signed with it): tokens it hands
  // out must not have expired by the first press, whatever the time of day.
  h.clock.now = Date.now();
  tenant = await aStoredTenant({ corpId: CORP, clientId: APP.clientId, locale: 'en' }, apiSecret);
  await putLink(table, tenant.tenantId, { memberId: MEMBER, userId: 'u2', name: 'Li Lei', linkedAt: new Date().toISOString() });
}, 120_000);

afterAll(async () => {
  await h?.sim.close();
  await new Promise<void>((r) => (api ? api.server.close(() => r()) : r()));
  sqs?.destroy();
  table?.doc.destroy();
  await aws?.stop();
});

beforeEach(async () => {
  await takeActions();
});

/** A tenant stored as the CLI stores it, its card callback secret, and its route registered in the simulator. */
async function aStoredTenant(over: Partial<Tenant>, secret: string): Promise<Tenant> {
  const t = await stores.putTenant(table, aTenant(over));
  const routeKey = `dtb-${t.tenantId}`;
  await stores.putCardSecret(table, t.tenantId, { apiSecret: secret, routeKey });
  await h.call('POST', PATHS.register, { callbackRouteKey: routeKey, callbackUrl: `${api.url}/card/${t.tenantId}`, apiSecret: secret, forceUpdate: true });
  return t;
}

let cards = 0;
/** A DM card for `userId` with the HTTP callback of `owner`, recorded in the table as the sender records it (unless `recorded: false`). */
async function aCard(userId: string, opts: { owner?: Tenant; recorded?: boolean; incidentId?: string; space?: 'user' | 'group'; actions?: Array<'ack' | 'close' | 'snooze'> } = {}): Promise<{ outTrackId: string; incidentId: string }> {
  const owner = opts.owner ?? tenant;
  const outTrackId = `card${++cards}${randomBytes(4).toString('hex')}`;
  const incidentId = opts.incidentId ?? `inc-${cards}`;
  const r = await h.call('POST', PATHS.create, dmCard(outTrackId, userId, { callbackType: 'HTTP', callbackRouteKey: `dtb-${owner.tenantId}` }));
  expect(r.status).toBe(200);
  if (opts.recorded !== false) {
    await stores.recordCard(table, { tenantId: owner.tenantId, incidentId, outTrackId, space: opts.space ?? 'user', to: opts.space === 'group' ? 'cidPress==' : userId, actions: opts.actions ?? ['ack', 'close', 'snooze'], messageId: `n-${cards}`, createdAt: new Date().toISOString() }, Date.now());
  }
  return { outTrackId, incidentId };
}

/** A user presses a button now (the simulator's clock set to the wall clock, or `skewMs` off it). */
function press(outTrackId: string, userId: string, params: Record<string, string>, opts: { badSignature?: boolean; skewMs?: number } = {}) {
  h.clock.now = Date.now() + (opts.skewMs ?? 0);
  return h.sim.pressButton({ outTrackId, userId, actionId: params.action, params, badSignature: opts.badSignature });
}

/** Everything on the actions queue, removed from it. */
async function takeActions(): Promise<ActionsMessage[]> {
  const out: ActionsMessage[] = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.actionsQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!r.Messages?.length) return out;
    for (const m of r.Messages) {
      const parsed = parseActionsMessage(m.Body);
      if (!parsed.ok) throw new Error(parsed.reason);
      out.push(parsed.message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.actionsQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

/** Runs `fn`, capturing what the process writes (the handler's logs). */
async function capturingLogs<T>(fn: () => Promise<T>): Promise<{ result: T; logs: string }> {
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((s) => jest.spyOn(s, 'write').mockImplementation(((c: unknown) => (chunks.push(String(c)), true)) as never));
  try {
    return { result: await fn(), logs: chunks.join('') };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

describe('a genuine press', () => {
  it('by a linked user queues exactly one action and answers the presser "Acknowledging…"', async () => {
    const { outTrackId, incidentId } = await aCard('u2');
    const r = await press(outTrackId, 'u2', { action: 'ack' });
    expect(r.status).toBe(200);
    expect(r.answer).toEqual({ userPrivateData: { cardParamMap: { notice: 'Acknowledging…' } }, cardUpdateOptions: { updatePrivateDataByKey: true } });
    expect(h.sim.cardSeenBy(outTrackId, 'u2')).toMatchObject({ notice: 'Acknowledging…' });
    const actions = await takeActions();
    expect(actions).toEqual([
      {
        version: 1,
        id: expect.stringMatching(/^[0-9a-f]{40}$/),
        tenantId: tenant.tenantId,
        at: expect.any(String),
        incidentId,
        action: 'ack',
        by: { dingtalkUserId: 'u2', memberId: MEMBER, name: 'Li Lei' },
      },
    ]);
    expect(Math.abs(Date.parse(actions[0].at) - Date.now())).toBeLessThan(10_000);
  });

  it('snooze carries its minutes; minutes outside 1..1440 are refused (400) and nothing is queued', async () => {
    const { outTrackId } = await aCard('u2');
    expect((await press(outTrackId, 'u2', { action: 'snooze', minutes: '240' })).status).toBe(200);
    expect(await takeActions()).toEqual([expect.objectContaining({ action: 'snooze', snoozeMinutes: 240 })]);
    for (const minutes of ['0', '1441', 'soon']) {
      const r = await press(outTrackId, 'u2', { action: 'snooze', minutes }, { skewMs: Number(minutes.length) });
      expect({ minutes, status: r.status }).toEqual({ minutes, status: 400 });
      expect(r.answer).toEqual({ error: 'invalid_request', message: expect.stringContaining('snooze minutes') });
    }
    expect(await takeActions()).toEqual([]);
  });

  it('answers in the tenant locale (zh-CN by default)', async () => {
    const zh = await aStoredTenant({ corpId: CORP, clientId: `${APP.clientId}zh` }, 'zh-secret');
    await stores.putLink(table, zh.tenantId, { memberId: MEMBER, userId: 'u2', linkedAt: new Date().toISOString() });
    const { outTrackId } = await aCard('u2', { owner: zh });
    const r = await press(outTrackId, 'u2', { action: 'close' });
    expect(r.answer).toMatchObject({ userPrivateData: { cardParamMap: { notice: '正在关闭…' } } });
    expect(await takeActions()).toEqual([expect.objectContaining({ tenantId: zh.tenantId, action: 'close' })]);
  });
});

describe('refused presses change nothing', () => {
  it('a forged signature: 401, nothing queued, no secret in the logs', async () => {
    const { outTrackId } = await aCard('u2');
    const { result, logs } = await capturingLogs(() => press(outTrackId, 'u2', { action: 'ack' }, { badSignature: true }));
    expect(result.status).toBe(401);
    expect(result.answer).toEqual({ error: 'unauthorized', message: 'bad signature' });
    expect(logs).not.toContain(apiSecret);
    expect(logs).not.toContain(result.headers['x-ddpaas-signature']);
    expect(await takeActions()).toEqual([]);
  });

  it.each([
    ['more than 120 s old', -121_000],
    ['more than 120 s ahead', 121_000],
  ])('a timestamp %s: 401, nothing queued', async (_name, skewMs) => {
    const { outTrackId } = await aCard('u2');
    const r = await press(outTrackId, 'u2', { action: 'ack' }, { skewMs });
    expect(r.status).toBe(401);
    expect(r.answer).toMatchObject({ message: expect.stringContaining('window') });
    expect(await takeActions()).toEqual([]);
  });

  it("another organisation's corpId: 403, nothing queued", async () => {
    // A tenant of another organisation whose route DingTalk (the simulator) calls with this org's corpId.
    const other = await aStoredTenant({ corpId: 'dingothercorp', clientId: `${APP.clientId}other` }, 'other-secret');
    await stores.putLink(table, other.tenantId, { memberId: MEMBER, userId: 'u2', linkedAt: new Date().toISOString() });
    const { outTrackId } = await aCard('u2', { owner: other });
    const r = await press(outTrackId, 'u2', { action: 'ack' });
    expect(r.status).toBe(403);
    expect(r.answer).toMatchObject({ error: 'forbidden', message: expect.stringContaining('corpId') });
    expect(await takeActions()).toEqual([]);
  });

  it('a card the bridge never sent for the tenant: 403, nothing queued', async () => {
    const { outTrackId } = await aCard('u2', { recorded: false });
    const r = await press(outTrackId, 'u2', { action: 'ack' });
    expect(r.status).toBe(403);
    expect(r.answer).toMatchObject({ message: expect.stringContaining('outTrackId') });
    expect(await takeActions()).toEqual([]);
  });

  it('the same request sent twice (a replay): the second is refused (409), one action', async () => {
    const { outTrackId } = await aCard('u2');
    const first = await press(outTrackId, 'u2', { action: 'ack' });
    expect(first.status).toBe(200);
    // The captured request, replayed as it was, then with another body under the same signature.
    const again = await fetch(first.url, { method: 'POST', headers: first.headers, body: JSON.stringify(first.body) });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: 'replay', message: expect.any(String) });
    const otherBody = { ...first.body, content: JSON.stringify({ cardPrivateData: { actionIds: ['close'], params: { action: 'close' } } }) };
    expect((await fetch(first.url, { method: 'POST', headers: first.headers, body: JSON.stringify(otherBody) })).status).toBe(409);
    expect(await takeActions()).toHaveLength(1);
  });

  it('a captured press replayed under another user\'s name is a replay (409): DingTalk signs the timestamp only', async () => {
    const { outTrackId } = await aCard('u2', { space: 'group' });
    const first = await press(outTrackId, 'u2', { action: 'ack' });
    expect(first.status).toBe(200);
    await stores.putLink(table, tenant.tenantId, { memberId: '2476444212132', userId: 'mallory', linkedAt: new Date().toISOString() });
    const asMallory = { ...first.body, userId: 'mallory' };
    const r = await fetch(first.url, { method: 'POST', headers: first.headers, body: JSON.stringify(asMallory) });
    expect(r.status).toBe(409);
    expect((await takeActions()).map((a) => a.by.dingtalkUserId)).toEqual(['u2']);
  });

  it('a DM card pressed in another user\'s name, and a button the card was not sent with, are refused (403)', async () => {
    const dm = await aCard('u2');
    const first = await press(dm.outTrackId, 'u2', { action: 'ack' });
    expect(first.status).toBe(200);
    await takeActions();
    const asOther = await fetch(first.url, { method: 'POST', headers: first.headers, body: JSON.stringify({ ...first.body, userId: 'mallory' }) });
    expect(asOther.status).toBe(403);
    expect(await asOther.json()).toMatchObject({ message: 'this card was sent to another user' });
    const plain = await aCard('u2', { actions: [] });
    const r = await press(plain.outTrackId, 'u2', { action: 'close' });
    expect(r.status).toBe(403);
    expect(await takeActions()).toEqual([]);
  });

  it('an unknown tenant, or one without a card callback secret: 404', async () => {
    const bare = await stores.putTenant(table, aTenant({ corpId: CORP }));
    for (const id of ['no-such-tenant', bare.tenantId]) {
      const r = await fetch(`${api.url}/card/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect({ id, status: r.status }).toEqual({ id, status: 404 });
    }
  });
});

describe('a press that changes nothing, told to the presser', () => {
  it('an unlinked presser gets the notice telling them to link, and nothing is queued', async () => {
    const { outTrackId } = await aCard('u3');
    const r = await press(outTrackId, 'u3', { action: 'ack' });
    expect(r.status).toBe(200);
    expect(r.answer).toEqual({ userPrivateData: { cardParamMap: { notice: expect.stringContaining('not linked') } }, cardUpdateOptions: { updatePrivateDataByKey: true } });
    expect(h.sim.cardSeenBy(outTrackId, 'u3')).toMatchObject({ notice: expect.stringContaining('link page') });
    expect(await takeActions()).toEqual([]);
  });

  it('a press whose action cannot be queued is forgotten: DingTalk sending it again is served, once', async () => {
    const { outTrackId } = await aCard('u2');
    const send = jest.spyOn(SQSClient.prototype, 'send').mockImplementationOnce(async () => {
      throw Object.assign(new Error('SQS unavailable'), { name: 'ServiceUnavailable' });
    });
    let first: Awaited<ReturnType<typeof press>>;
    try {
      first = await press(outTrackId, 'u2', { action: 'ack' });
    } finally {
      send.mockRestore();
    }
    expect(first.status).toBe(500);
    const again = await fetch(first.url, { method: 'POST', headers: first.headers, body: JSON.stringify(first.body) });
    expect(again.status).toBe(200);
    expect(await takeActions()).toHaveLength(1);
  });

  it('a closed incident: the notice says so, and nothing is queued', async () => {
    const { outTrackId, incidentId } = await aCard('u2');
    await stores.putIncidentState(table, tenant.tenantId, incidentId, { status: 'closed', updatedAt: new Date().toISOString() }, Date.now());
    const r = await press(outTrackId, 'u2', { action: 'ack' });
    expect(r.status).toBe(200);
    expect(r.answer).toMatchObject({ userPrivateData: { cardParamMap: { notice: expect.stringContaining('already closed') } } });
    expect(await takeActions()).toEqual([]);
  });
});
