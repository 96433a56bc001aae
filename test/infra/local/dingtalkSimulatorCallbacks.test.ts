import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AUTH_CODE_TTL_MS } from '../../../infra/local/dingtalkSimulator/simulator';
import { APP, CORP, OTHER, PATHS, dmCard, expectRefused, groupCard, harness, type Harness } from './simulatorClient';

let h: Harness;
beforeEach(async () => { h = await harness(); });
afterEach(async () => { await h.sim.close(); });

/** The app's card callback endpoint: records each request and answers `answer`. */
interface Received { headers: Record<string, string | string[] | undefined>; body: any }
async function receiver(answer: unknown = {}): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/card`, got, server };
}
const closeServer = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));
/** §9.4, computed here independently of the simulator. */
const sign = (secret: string, ts: string): string => createHmac('sha256', secret).update(ts).digest('base64');

describe('card callback registration (docs/dingtalk-api.md §9.3)', () => {
  it('registers, keeps the earlier URL without forceUpdate, overwrites with it', async () => {
    expect((await h.call('POST', PATHS.register, { callbackRouteKey: 'acme', callbackUrl: 'https://a/1', apiSecret: 's1' })).json)
      .toEqual({ success: true, result: { callbackUrl: 'https://a/1', apiSecret: 's1' } });
    expect((await h.call('POST', PATHS.register, { callbackRouteKey: 'acme', callbackUrl: 'https://a/2' })).json.result.callbackUrl).toBe('https://a/1');
    expect((await h.call('POST', PATHS.register, { callbackRouteKey: 'acme', callbackUrl: 'https://a/3', apiSecret: 's3', forceUpdate: true })).json.result)
      .toEqual({ callbackUrl: 'https://a/3', apiSecret: 's3' });
    expect(h.sim.calls.at(-1)).toMatchObject({ api: 'cardCallbackRegister', counted: true });
    // §9.3 safe side: keys are unique across DingTalk; DingTalk answers 500
    expectRefused(h, await h.call('POST', PATHS.register, { callbackRouteKey: 'acme', callbackUrl: 'https://b', forceUpdate: true }, await h.token(OTHER)), 500, 'param.callbackRouteKeyExist');
  });

  it.each([
    ['an empty body', {}, 'param.empty'],
    ['no route key', { callbackUrl: 'https://a' }, 'param.callbackRouteKeyEmpty'],
    ['no URL', { callbackRouteKey: 'k' }, 'param.callbackUrlEmpty'],
    ['forceUpdate as a string', { callbackRouteKey: 'k', callbackUrl: 'https://a', forceUpdate: 'true' }, 'param.invalid'],
  ])('refuses %s', async (_name, body, code) => {
    expectRefused(h, await h.call('POST', PATHS.register, body), 400, code);
  });
});

describe('pressing a card button (§9.4)', () => {
  it('posts the signed callback DingTalk sends, and shows its answer to the presser only', async () => {
    const app = await receiver({ userPrivateData: { cardParamMap: { note: 'Acknowledging…' } } });
    await h.call('POST', PATHS.register, { callbackRouteKey: 'acme-cards', callbackUrl: app.url, apiSecret: 'sekret' });
    await h.call('POST', PATHS.create, groupCard('inc7', 'cidOps==', APP.clientId, { callbackType: 'HTTP', callbackRouteKey: 'acme-cards' }));
    const r = await h.sim.pressButton({ outTrackId: 'inc7', userId: 'u2', actionId: 'ack', params: { action: 'ack' } });
    expect(r.status).toBe(200);
    expect(app.got).toHaveLength(1);
    const { headers, body } = app.got[0];
    expect(body).toEqual({ type: 'actionCallback', outTrackId: 'inc7', corpId: CORP, userId: 'u2', content: expect.any(String) });
    expect(JSON.parse(body.content)).toEqual({ cardPrivateData: { actionIds: ['ack'], params: { action: 'ack' } } });
    const ts = headers['x-ddpaas-signature-timestamp'] as string;
    expect(ts).toBe(String(h.clock.now)); // epoch ms (the unit is undocumented)
    expect(headers['x-ddpaas-signature']).toBe(sign('sekret', ts));
    expect(h.sim.cardSeenBy('inc7', 'u2')).toEqual({ status: 'triggered', note: 'Acknowledging…' });
    expect(h.sim.cardSeenBy('inc7', 'u3')).toEqual({ status: 'triggered' });
    await closeServer(app.server);
  });

  it('names the presser by unionId on a userIdType 2 card, signs nothing without an apiSecret, and can forge a signature on request', async () => {
    const app = await receiver();
    await h.call('POST', PATHS.register, { callbackRouteKey: 'plain', callbackUrl: app.url });
    await h.call('POST', PATHS.create, dmCard('u-card', 'unionZhang', { userIdType: 2, callbackType: 'HTTP', callbackRouteKey: 'plain' }));
    await h.sim.pressButton({ outTrackId: 'u-card', userId: 'u1', actionId: 'close' });
    expect(app.got[0].body.userId).toBe('unionZhang');
    expect(app.got[0].headers['x-ddpaas-signature']).toBeUndefined();
    await h.call('POST', PATHS.register, { callbackRouteKey: 'plain', callbackUrl: app.url, apiSecret: 'k2', forceUpdate: true });
    await h.sim.pressButton({ outTrackId: 'u-card', userId: 'u1', actionId: 'close', badSignature: true });
    const forged = app.got[1].headers;
    expect(forged['x-ddpaas-signature']).not.toBe(sign('k2', forged['x-ddpaas-signature-timestamp'] as string));
    await closeServer(app.server);
  });

  it('lets only a user who sees the card press it, and only on a card with an HTTP callback', async () => {
    const app = await receiver();
    await h.call('POST', PATHS.register, { callbackRouteKey: 'k', callbackUrl: app.url });
    await h.call('POST', PATHS.create, dmCard('dm-k', 'u1', { callbackType: 'HTTP', callbackRouteKey: 'k' }));
    await h.call('POST', PATHS.create, dmCard('dm-none', 'u1'));
    await expect(h.sim.pressButton({ outTrackId: 'dm-k', userId: 'u2', actionId: 'ack' })).rejects.toThrow(/cannot see/);
    await expect(h.sim.pressButton({ outTrackId: 'dm-none', userId: 'u1', actionId: 'ack' })).rejects.toThrow(/no HTTP callback/);
    expect(app.got).toHaveLength(0);
    await closeServer(app.server);
  });
});

describe('scene group disband (§5.3) and the member cap (§5.2)', () => {
  const create = async (uuid: string): Promise<string> =>
    (await h.call('POST', PATHS.sceneCreate, { title: 'war room', template_id: 'tplwar', owner_user_id: 'u1', user_ids: ['u2'], uuid })).json.open_conversation_id;

  it('disbands once; the group then takes no members and no messages', async () => {
    const cid = await create('d1');
    expect((await h.call('POST', PATHS.disband, { openConversationId: cid })).json).toEqual({ success: true });
    expect(h.sim.group(CORP, cid)).toMatchObject({ disbanded: true });
    expect(h.sim.calls.at(-1)).toMatchObject({ api: 'sceneGroupDisband', counted: true });
    expectRefused(h, await h.call('POST', PATHS.disband, { openConversationId: cid }), 400, 'paramIllegal');
    expectRefused(h, await h.call('POST', PATHS.sceneAdd, { open_conversation_id: cid, user_ids: ['u3'] }), 400, 'invalidOpenConversationId');
    h.clock.now += 1000;
    const send = await h.call('POST', PATHS.groupSend, { robotCode: 'dingwarbot', openConversationId: cid, msgKey: 'sampleText', msgParam: '{"content":"x"}' });
    expect(send.json.code).toBe('group.disbanded');
  });

  it.each([
    ['snake_case open_conversation_id', (cid: string) => ({ open_conversation_id: cid })],
    ['an unknown group', (_cid: string) => ({ openConversationId: 'cidNope==' })],
    ['an ordinary group', (_cid: string) => ({ openConversationId: 'cidOps==' })],
    ['a number', (_cid: string) => ({ openConversationId: 7 })],
  ])('refuses %s with paramIllegal', async (_name, body) => {
    const cid = await create('d2');
    expectRefused(h, await h.call('POST', PATHS.disband, body(cid)), 400, 'paramIllegal');
    expect(h.sim.group(CORP, cid)).toMatchObject({ disbanded: false });
  });

  it('refuses an add that takes a group past 1,000 members', async () => {
    for (let i = 1; i <= 1000; i++) h.sim.addUser(CORP, { userId: `m${i}` });
    const cid = await create('big');
    const ids = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `m${from + i}`);
    expect((await h.call('POST', PATHS.sceneAdd, { open_conversation_id: cid, user_ids: ids(1, 998) })).json).toEqual({ success: true });
    expectRefused(h, await h.call('POST', PATHS.sceneAdd, { open_conversation_id: cid, user_ids: ids(999, 2) }), 400, 'parameter.invalid');
    expect(h.sim.group(CORP, cid)?.members).toHaveLength(1000);
  });
});

describe('auth codes (§10)', () => {
  const exchange = (code: unknown, token?: string) => h.oldCall(PATHS.userInfo, code === undefined ? {} : { code }, token);

  it('exchanges a code once for the userId', async () => {
    const code = h.sim.issueAuthCode(APP.clientId, 'u1');
    const r = await exchange(code);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ errcode: 0, errmsg: 'ok', request_id: expect.any(String), result: { userid: 'u1', unionid: 'unionZhang', name: 'Zhang', sys: false, sys_level: 0 } });
    expect(h.sim.calls.at(-1)).toMatchObject({ api: 'getUserInfo', counted: true });
    const again = await exchange(code);
    expect(again.json).toMatchObject({ errcode: 40078, errmsg: expect.any(String) });
    expect(h.sim.calls.at(-1)).toMatchObject({ code: '40078', counted: false });
  });

  it('accepts a code until 5 minutes have passed on the simulator clock', async () => {
    const fresh = h.sim.issueAuthCode(APP.clientId, 'u2');
    const stale = h.sim.issueAuthCode(APP.clientId, 'u3');
    h.clock.now += AUTH_CODE_TTL_MS - 1;
    expect((await exchange(fresh)).json.result.userid).toBe('u2');
    h.clock.now += 1;
    expect((await exchange(stale)).json.errcode).toBe(40078);
  });

  it("refuses another app's code, an unknown code, a missing code and a bad token", async () => {
    const code = h.sim.issueAuthCode(OTHER.clientId, 'u1');
    expect((await exchange(code)).json.errcode).toBe(40078);
    expect((await exchange('nope')).json.errcode).toBe(40078);
    expect((await exchange(undefined)).json.errcode).toBe(400002);
    const bad = await exchange(h.sim.issueAuthCode(APP.clientId, 'u1'), 'not-a-token');
    expect(bad.json).toMatchObject({ errcode: 88, sub_code: '40014' });
  });
});

describe('faults on the new APIs', () => {
  it('refuses before processing, or processes and loses the answer, like on the old APIs', async () => {
    h.sim.inject({ api: 'cardCreateAndDeliver', kind: '5xx', count: 1 });
    expect((await h.call('POST', PATHS.create, dmCard('f1', 'u1'))).json.code).toBe('system.error');
    expect(h.sim.cards()).toEqual([]);
    h.sim.inject({ api: 'cardCreateAndDeliver', kind: 'deliverThen5xx', count: 1 });
    expect((await h.call('POST', PATHS.create, dmCard('f1', 'u1'))).status).toBe(503);
    expect(h.sim.cardSeenBy('f1', 'u1')).toBeDefined(); // delivered, the answer lost
    expect((await h.call('POST', PATHS.create, dmCard('f1', 'u1'))).json.code).toBe('param.cardAlreadyExist');
    h.sim.inject({ api: 'cardUpdate', kind: 'qps', count: 1 });
    expect((await h.call('PUT', PATHS.update, { outTrackId: 'f1', cardData: { cardParamMap: { s: 'x' } } })).json.code).toBe('Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
    const code = h.sim.issueAuthCode(APP.clientId, 'u4');
    h.sim.inject({ api: 'getUserInfo', kind: 'invalidToken', count: 1 });
    expect((await exchange2(code)).json).toMatchObject({ errcode: 88, sub_code: '40014' });
    expect((await exchange2(code)).json.result.userid).toBe('u4'); // refused before processing: the code is still good
    h.sim.inject({ api: 'sceneGroupDisband', kind: 'html', count: 1 });
    expect((await h.call('POST', PATHS.disband, { openConversationId: 'x' })).status).toBe(403);
  });
  const exchange2 = (code: string) => h.oldCall(PATHS.userInfo, { code });
});
