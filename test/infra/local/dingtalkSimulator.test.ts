import { startSimulator, type SimApp, type Simulator, type SimulatorOptions } from '../../../infra/local/dingtalkSimulator/simulator';

const CORP = 'dingcorp1';
const APP: SimApp = { clientId: 'dingapp1', clientSecret: 'secret1', corpId: CORP, qps: 5, monthlyQuota: 1000 };
const TOKEN = '/v1.0/oauth2/accessToken';
const BATCH = '/v1.0/robot/oToMessages/batchSend';
const GROUP = '/v1.0/robot/groupMessages/send';
const MOBILE = '/topapi/v2/user/getbymobile';
const CREATE = '/v1.0/im/sceneGroup/create';
const ADD = '/v1.0/im/sceneGroup/member/add';

let sim: Simulator;

async function start(opts: SimulatorOptions = {}, app: SimApp = APP): Promise<Simulator> {
  const s = await startSimulator(opts);
  s.addApp(app);
  for (let i = 1; i <= 50; i++) s.addUser(CORP, { userId: `u${i}`, mobile: `1380000${String(i).padStart(4, '0')}` });
  s.addGroup(CORP, { openConversationId: 'cidPlain==' });
  s.addGroup(CORP, { openConversationId: 'cidCool==', coolAppCode: 'COOL_1' });
  s.addGroup(CORP, { openConversationId: 'cidGone==', disbanded: true });
  s.addTemplate(CORP, { templateId: 'tpl1', botId: 'dingbot1', installDelayMs: 2000 });
  return s;
}

interface Res { status: number; json: any; text: string; type: string | null }
async function post(path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Res> {
  const r = await fetch(sim.url + path, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, signal,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text, type: r.headers.get('content-type') };
}
const call = (path: string, body: unknown, token: string): Promise<Res> => post(path, body, { 'x-acs-dingtalk-access-token': token });
const oldCall = (path: string, body: unknown, token: string): Promise<Res> => post(`${path}?access_token=${encodeURIComponent(token)}`, body);
async function token(app: SimApp = APP): Promise<string> {
  const r = await post(TOKEN, { appKey: app.clientId, appSecret: app.clientSecret });
  expect(r.status).toBe(200);
  return r.json.accessToken as string;
}
const text = (content: string): { msgKey: string; msgParam: string } => ({ msgKey: 'sampleText', msgParam: JSON.stringify({ content }) });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

afterEach(async () => { await sim?.close(); });

describe('token', () => {
  beforeEach(async () => { sim = await start(); });

  it('issues a token for good credentials and rejects bad ones', async () => {
    const bad = await post(TOKEN, { appKey: APP.clientId, appSecret: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'invalidClientIdOrSecret', requestid: expect.any(String) });
    const good = await post(TOKEN, { appKey: APP.clientId, appSecret: APP.clientSecret });
    expect(good.json).toEqual({ accessToken: expect.any(String), expireIn: 7200 });
    expect(await token()).toBe(good.json.accessToken); // same token while valid
    expect(sim.calls.map((c) => c.counted)).toEqual([false, false, false]);
  });

  it('rejects unknown and expired tokens on new and old APIs', async () => {
    const tok = await token();
    expect((await call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('hi') }, tok)).status).toBe(200);
    sim.expireTokens();
    const r = await call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('hi') }, tok);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'InvalidAuthentication', requestid: expect.any(String) });
    const old = await oldCall(MOBILE, { mobile: '13800000001' }, tok);
    expect(old.status).toBe(200);
    expect(old.json).toMatchObject({ errcode: 88, sub_code: '40014', sub_msg: expect.any(String) }); // §0, §8: 40014 wrapped in errcode 88
    expect(sim.calls.at(-1)?.code).toBe('88/40014');
    const fresh = await token();
    expect(fresh).not.toBe(tok);
    expect((await oldCall(MOBILE, { mobile: '13800000001' }, fresh)).json).toMatchObject({ errcode: 0, errmsg: 'ok', result: { userid: 'u1' } });
    expect((await oldCall(MOBILE, { mobile: '13999999999' }, fresh)).json).toMatchObject({ errcode: 60121 });
  });

  it('expires tokens after tokenTtlSeconds on the simulator clock', async () => {
    await sim.close();
    let clock = 1_700_000_000_000;
    sim = await start({ now: () => clock, tokenTtlSeconds: 60 });
    const tok = await token();
    clock += 59_000;
    expect((await oldCall(MOBILE, { mobile: '13800000001' }, tok)).json.errcode).toBe(0);
    clock += 2_000;
    expect((await oldCall(MOBILE, { mobile: '13800000001' }, tok)).json).toMatchObject({ errcode: 88, sub_code: '40014' });
  });
});

describe('batchSend', () => {
  let tok: string;
  beforeEach(async () => { sim = await start({}, { ...APP, qps: 100 }); tok = await token(); });

  it('delivers to known users and lists unknown ones', async () => {
    const r = await call(BATCH, { robotCode: APP.clientId, userIds: ['u1', 'u2', 'ghost'], ...text('hello') }, tok);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ processQueryKey: expect.any(String), invalidStaffIdList: ['ghost'], flowControlledStaffIdList: [] });
    expect(sim.messages()).toEqual([
      { api: 'batchSend', robotCode: APP.clientId, to: 'u1', msgKey: 'sampleText', msgParam: { content: 'hello' } },
      { api: 'batchSend', robotCode: APP.clientId, to: 'u2', msgKey: 'sampleText', msgParam: { content: 'hello' } },
    ]);
    expect(sim.calls.at(-1)).toMatchObject({ api: 'batchSend', clientId: APP.clientId, corpId: CORP, status: 200, counted: true });
  });

  it.each([
    ['21 users', { userIds: Array.from({ length: 21 }, (_, i) => `u${i + 1}`), ...text('x') }, 'invalidParameter.userIds.overMax'],
    ['no users', { userIds: [], ...text('x') }, 'invalidParameter.userIds.empty'],
    ['msgParam as object', { userIds: ['u1'], msgKey: 'sampleText', msgParam: { content: 'x' } }, 'invalidParameter.msgParam'],
    ['msgParam not JSON', { userIds: ['u1'], msgKey: 'sampleText', msgParam: '{content' }, 'invalidParameter.msgParam'],
    ['markdown without title', { userIds: ['u1'], msgKey: 'sampleMarkdown', msgParam: JSON.stringify({ text: 't' }) }, 'invalidParameter.msgParam'],
    ['actionCard3 with 2 buttons', { userIds: ['u1'], msgKey: 'sampleActionCard3', msgParam: JSON.stringify({ title: 't', text: 't', actionTitle1: 'a', actionURL1: 'u', actionTitle2: 'b', actionURL2: 'u' }) }, 'invalidParameter.msgParam'],
    ['unknown msgKey', { userIds: ['u1'], msgKey: 'sampleNope', msgParam: '{}' }, 'invalidParameter.msgKey'],
  ])('rejects %s', async (_name, body, code) => {
    const r = await call(BATCH, { robotCode: APP.clientId, ...body }, tok);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code, message: expect.any(String), requestid: expect.any(String) });
    expect(sim.messages()).toHaveLength(0);
    expect(sim.calls.at(-1)?.counted).toBe(false);
  });

  it('rejects a robotCode other than the app and accepts 20 users and action cards', async () => {
    expect((await call(BATCH, { robotCode: 'other', userIds: ['u1'], ...text('x') }, tok)).json.code).toBe('invalidParameter.robotCode.invalid');
    const twenty = Array.from({ length: 20 }, (_, i) => `u${i + 1}`);
    expect((await call(BATCH, { robotCode: APP.clientId, userIds: twenty, ...text('x') }, tok)).status).toBe(200);
    const card = { title: 't', text: 'md', actionTitle1: 'Ack', actionURL1: 'https://a', actionTitle2: 'Close', actionURL2: 'https://b' };
    expect((await call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], msgKey: 'sampleActionCard2', msgParam: JSON.stringify(card) }, tok)).status).toBe(200);
    expect(sim.messages()).toHaveLength(21);
  });
});

describe('groupSend', () => {
  let tok: string;
  beforeEach(async () => { sim = await start({}, { ...APP, qps: 100 }); tok = await token(); });
  const send = (extra: Record<string, unknown>): Promise<Res> =>
    call(GROUP, { robotCode: APP.clientId, openConversationId: 'cidPlain==', ...text('hi'), ...extra }, tok);

  it('delivers to a group and enforces group rules', async () => {
    expect((await send({})).json).toEqual({ processQueryKey: expect.any(String) });
    expect((await send({ openConversationId: 'cidNope' })).json.code).toBe('invalid.openConversationId');
    expect((await send({ openConversationId: 'cidGone==' })).json.code).toBe('group.disbanded');
    expect((await send({ openConversationId: 'cidCool==' })).json.code).toBe('invalidParameter.robotCode.coolApp');
    expect((await send({ openConversationId: 'cidCool==', coolAppCode: 'COOL_1' })).status).toBe(200);
    expect((await send({ robotCode: 'dingbot1' })).json.code).toBe('invalidParameter.robotCode.notExsit');
    expect(sim.messages().map((m) => [m.to, m.coolAppCode])).toEqual([['cidPlain==', undefined], ['cidCool==', 'COOL_1']]);
  });

  it('rejects a msgParam over 15000 bytes', async () => {
    const ok = await send({ msgParam: JSON.stringify({ content: 'x'.repeat(14_980) }) });
    expect(ok.status).toBe(200);
    const long = await send({ msgParam: JSON.stringify({ content: '警'.repeat(5000) }) }); // 15,000+ bytes in UTF-8
    expect(long.status).toBe(400);
    expect(long.json).toMatchObject({ code: 'invalidParameter.msgParam.tooLong', message: expect.any(String) });
  });
});

describe('QPS window', () => {
  beforeEach(async () => { sim = await start(); });

  it('rejects exactly the call over qps, then frees the window after 1 s', async () => {
    const tok = await token();
    const fire = (): Promise<Res[]> => Promise.all(Array.from({ length: APP.qps + 1 }, () =>
      call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('x') }, tok)));
    const first = await fire();
    expect(first.filter((r) => r.status === 403).map((r) => r.json.code)).toEqual(['Forbidden.AccessDenied.QpsLimitForAppkeyAndApi']);
    expect(sim.overLimitCount()).toBe(1);
    expect(sim.calls.filter((c) => c.overLimit)).toHaveLength(1);
    expect(sim.calls.filter((c) => c.counted)).toHaveLength(APP.qps);
    await sleep(1050);
    const again = await Promise.all(Array.from({ length: APP.qps }, () =>
      call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('x') }, tok)));
    expect(again.every((r) => r.status === 200)).toBe(true);
    expect(sim.overLimitCount()).toBe(1);
  });

  it('keeps one window per API and answers the old API with errcode 88, sub_code 90018', async () => {
    const tok = await token();
    const lookups = await Promise.all(Array.from({ length: APP.qps + 2 }, () => oldCall(MOBILE, { mobile: '13800000001' }, tok)));
    expect(lookups.map((r) => r.status).every((s) => s === 200)).toBe(true);
    const refused = lookups.filter((r) => r.json.errcode !== 0);
    expect(refused).toHaveLength(2);
    for (const r of refused) expect(r.json).toMatchObject({ errcode: 88, sub_code: '90018', sub_msg: expect.any(String) });
    expect(sim.calls.filter((c) => c.overLimit).map((c) => c.code)).toEqual(['88/90018', '88/90018']);
    // batchSend has its own window
    expect((await call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('x') }, tok)).status).toBe(200);
  });

  it('applies jitter before arrival', async () => {
    await sim.close();
    sim = await start({ jitterMs: [30, 40] });
    const t0 = performance.timeOrigin + performance.now();
    await token();
    expect(sim.calls[0].at - t0).toBeGreaterThanOrEqual(29);
  });
});

describe('monthly quota', () => {
  beforeEach(async () => { sim = await start({}, { ...APP, qps: 100, monthlyQuota: 10 }); });

  it('counts successful robot calls and stops at the quota', async () => {
    const tok = await token();
    sim.setQuotaUsed(CORP, 9);
    expect((await oldCall(MOBILE, { mobile: '13800000001' }, tok)).json.errcode).toBe(0); // not counted
    expect((await call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('x') }, tok)).status).toBe(200);
    const over = await call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('x') }, tok);
    expect(over.status).toBe(403);
    expect(over.json.code).toBe('Forbidden.AccessDenied.ApiCountLimitForOrg');
    expect(sim.pastQuotaCount()).toBe(1);
    expect(sim.calls.map((c) => [c.api, c.counted])).toEqual([['token', false], ['getbymobile', false], ['batchSend', true], ['batchSend', false]]);
    sim.reset();
    expect((await call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('x') }, tok)).status).toBe(200);
    expect(sim.calls).toHaveLength(1);
  });
});

describe('faults', () => {
  let tok: string;
  beforeEach(async () => { sim = await start({}, { ...APP, qps: 100 }); tok = await token(); });
  const dm = (): Promise<Res> => call(BATCH, { robotCode: APP.clientId, userIds: ['u1'], ...text('x') }, tok);

  it('answers injected errors for the next matching calls only', async () => {
    sim.inject({ api: 'batchSend', kind: '5xx', count: 2 });
    sim.inject({ api: 'getbymobile', kind: 'invalidToken', count: 1 });
    expect((await oldCall(MOBILE, { mobile: '13800000001' }, tok)).json).toMatchObject({ errcode: 88, sub_code: '40014' });
    const [a, b, c] = [await dm(), await dm(), await dm()];
    expect([a.status, b.status, c.status]).toEqual([500, 503, 200]);
    expect([a.json.code, b.json.code]).toEqual(['system.error', 'ServiceUnavailable']);
    sim.inject({ kind: 'html', count: 1 });
    const html = await dm();
    expect(html.status).toBe(403);
    expect(html.type).toMatch(/text\/html/);
    expect(html.json).toBeUndefined();
    sim.inject({ kind: 'qps', count: 1 });
    sim.inject({ kind: 'quota', count: 1 });
    expect((await dm()).json.code).toBe('Forbidden.AccessDenied.QpsLimitForAppkeyAndApi');
    expect((await dm()).json.code).toBe('Forbidden.AccessDenied.ApiCountLimitForOrg');
    expect(sim.overLimitCount()).toBe(0);
    expect(sim.messages()).toHaveLength(1);
  });

  it('holds the socket on timeout', async () => {
    sim.inject({ kind: 'timeout', count: 1 });
    await expect(post(BATCH, {}, { 'x-acs-dingtalk-access-token': tok }, AbortSignal.timeout(300))).rejects.toThrow();
    expect(sim.calls.at(-1)).toMatchObject({ status: 0, fault: 'timeout' });
    expect((await dm()).status).toBe(200);
  });

  it('answers unknown paths with 404 JSON', async () => {
    const r = await post('/v1.0/nope', {});
    expect(r.status).toBe(404);
    expect(r.json.code).toBe('NotFound');
  });
});

describe('scene groups', () => {
  let clock = 1_700_000_000_000;
  let tok: string;
  beforeEach(async () => { sim = await start({ now: () => clock }, { ...APP, qps: 1000 }); tok = await token(); });
  const create = (extra: Record<string, unknown> = {}): Promise<Res> =>
    call(CREATE, { title: 'P1 数据库告警', template_id: 'tpl1', owner_user_id: 'u1', user_ids: ['u2', 'u3'], uuid: 'inc-1', ...extra }, tok);

  it('is idempotent by uuid, takes user_ids as an array and refuses a comma-joined string (§5.1, §5.2)', async () => {
    const a = await create();
    expect(a.json).toEqual({ open_conversation_id: expect.stringMatching(/^cid/), chat_id: expect.stringMatching(/^chat/) });
    expect((await create()).json).toEqual(a.json);
    const b = await create({ uuid: 'inc-2', user_ids: ['u4'] });
    expect(b.json.open_conversation_id).not.toBe(a.json.open_conversation_id);
    const joined = await create({ uuid: 'inc-3', user_ids: 'u2,u3' });
    expect(joined.status).toBe(400);
    expect(joined.json).toMatchObject({ code: 'parameter.invalid', message: expect.any(String), requestid: expect.any(String) });
    expect(sim.groupsCreated().map((g) => [g.uuid, g.userIds])).toEqual([['inc-1', ['u2', 'u3']], ['inc-2', ['u4']]]);
    expect((await call(ADD, { open_conversation_id: a.json.open_conversation_id, user_ids: ['u5', 'u6'] }, tok)).json).toEqual({ success: true });
    const joinedAdd = await call(ADD, { open_conversation_id: a.json.open_conversation_id, user_ids: 'u7,u8' }, tok);
    expect(joinedAdd.status).toBe(400);
    expect(joinedAdd.json).toMatchObject({ code: 'parameter.invalid', message: expect.any(String) });
  });

  it.each([
    ['41 members', { user_ids: Array.from({ length: 41 }, (_, i) => `u${i + 2}`) }, 'parameter.invalid'],
    ['a 31-char title', { title: '告'.repeat(31) }, 'parameter.invalid'],
    ['an unknown template', { template_id: 'nope' }, 'groupTemplate.notFound'],
    ['an unknown owner', { owner_user_id: 'ghost' }, 'member.notFound'],
    ['an unknown member', { user_ids: ['u2', 'ghost'] }, 'member.notFound'],
  ])('rejects %s', async (_name, extra, code) => {
    const r = await create({ uuid: 'x', ...extra });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe(code);
    expect(sim.groupsCreated()).toHaveLength(0);
  });

  it('lets the template bot post only after the install delay', async () => {
    const cid = (await create()).json.open_conversation_id as string;
    const send = (robotCode: string): Promise<Res> => call(GROUP, { robotCode, openConversationId: cid, ...text('war room') }, tok);
    const early = await send('dingbot1');
    expect(early.status).toBe(400);
    expect(early.json.code).toBe('invalidParameter.robotCode.notExsit');
    clock += 1999;
    expect((await send('dingbot1')).status).toBe(400);
    clock += 1;
    expect((await send('dingbot1')).status).toBe(200);
    expect((await send('dingrandom')).json.code).toBe('invalidParameter.robotCode.auth');
    expect(sim.messages()).toEqual([{ api: 'groupSend', robotCode: 'dingbot1', to: cid, msgKey: 'sampleText', msgParam: { content: 'war room' } }]);
  });
});

describe('refuses what docs/dingtalk-api.md says DingTalk refuses', () => {
  let tok: string;
  beforeEach(async () => { sim = await start({}, { ...APP, qps: 100 }); tok = await token(); });
  const create = (extra: Record<string, unknown> = {}): Promise<Res> =>
    call(CREATE, { title: 'P1 数据库告警', template_id: 'tpl1', owner_user_id: 'u1', user_ids: ['u2'], uuid: 'doc-1', ...extra }, tok);
  const refused = (r: Res, status: number, code: string): void => {
    expect(r.status).toBe(status);
    expect(r.json).toMatchObject({ code, message: expect.any(String), requestid: expect.any(String) });
  };

  it('§5.1: sceneGroup/create with user_ids as a comma-joined string -> 400 parameter.invalid', async () => {
    refused(await create({ user_ids: 'u2,u3' }), 400, 'parameter.invalid');
    expect(sim.groupsCreated()).toHaveLength(0);
    expect(sim.calls.at(-1)).toMatchObject({ api: 'sceneGroupCreate', status: 400, code: 'parameter.invalid', counted: false });
    // the same members as an array are accepted
    expect((await create({ user_ids: ['u2', 'u3'] })).status).toBe(200);
    expect(sim.groupsCreated().map((g) => g.userIds)).toEqual([['u2', 'u3']]);
  });

  it('§5.2: sceneGroup/member/add with user_ids as a comma-joined string -> 400 parameter.invalid', async () => {
    const cid = (await create()).json.open_conversation_id as string;
    refused(await call(ADD, { open_conversation_id: cid, user_ids: 'u3,u4' }, tok), 400, 'parameter.invalid');
    expect(sim.calls.at(-1)).toMatchObject({ api: 'sceneGroupMemberAdd', code: 'parameter.invalid', counted: false });
    expect((await call(ADD, { open_conversation_id: cid, user_ids: ['u3', 'u4'] }, tok)).json).toEqual({ success: true });
  });

  it('§5.2: sceneGroup/member/add with an empty user_ids -> 400 parameter.invalid', async () => {
    const cid = (await create()).json.open_conversation_id as string;
    refused(await call(ADD, { open_conversation_id: cid, user_ids: [] }, tok), 400, 'parameter.invalid');
  });

  it('§5.2 (ERR): sceneGroup/member/add to an unknown scene group -> 400 invalidOpenConversationId', async () => {
    refused(await call(ADD, { open_conversation_id: 'cidNope==', user_ids: ['u3'] }, tok), 400, 'invalidOpenConversationId');
  });

  it('§5.1: an unknown owner -> 400 member.notFound', async () => {
    refused(await create({ owner_user_id: 'ghost' }), 400, 'member.notFound');
    expect(sim.groupsCreated()).toHaveLength(0);
  });

  it('§5.1: an unknown template -> 400 groupTemplate.notFound', async () => {
    refused(await create({ template_id: 'tplNope' }), 400, 'groupTemplate.notFound');
    expect(sim.groupsCreated()).toHaveLength(0);
  });

  it('§5.1: a title of 31 UTF-16 units -> 400 parameter.invalid (30 are accepted)', async () => {
    const thirtyOne = `P1 ${'告'.repeat(28)}`;
    expect(thirtyOne.length).toBe(31);
    refused(await create({ title: thirtyOne }), 400, 'parameter.invalid');
    expect(sim.groupsCreated()).toHaveLength(0);
    expect((await create({ title: thirtyOne.slice(0, 30) })).status).toBe(200);
  });

  it('§5.1: a title of 16 emoji (16 code points, 32 UTF-16 units) -> 400 parameter.invalid (15 are accepted)', async () => {
    refused(await create({ title: '🔥'.repeat(16) }), 400, 'parameter.invalid');
    expect(sim.groupsCreated()).toHaveLength(0);
    expect((await create({ title: '🔥'.repeat(15) })).status).toBe(200);
  });

  it('§3: groupMessages/send to an unknown group -> 400 invalid.openConversationId', async () => {
    refused(await call(GROUP, { robotCode: APP.clientId, openConversationId: 'cidNope==', ...text('hi') }, tok), 400, 'invalid.openConversationId');
    expect(sim.messages()).toHaveLength(0);
  });

  it('§3: groupMessages/send with a msgParam over 15,000 bytes -> 400 invalidParameter.msgParam.tooLong', async () => {
    const msg = (n: number): string => JSON.stringify({ content: 'x'.repeat(n) });
    expect(Buffer.byteLength(msg(14_987))).toBe(15_001);
    refused(await call(GROUP, { robotCode: APP.clientId, openConversationId: 'cidPlain==', msgKey: 'sampleText', msgParam: msg(14_987) }, tok), 400, 'invalidParameter.msgParam.tooLong');
    expect(sim.messages()).toHaveLength(0);
    // exactly 15,000 bytes go through
    expect((await call(GROUP, { robotCode: APP.clientId, openConversationId: 'cidPlain==', msgKey: 'sampleText', msgParam: msg(14_986) }, tok)).status).toBe(200);
    expect(sim.messages()).toHaveLength(1);
  });

  it('§2: oToMessages/batchSend with 21 userIds -> 400 invalidParameter.userIds.overMax', async () => {
    const r = await call(BATCH, { robotCode: APP.clientId, userIds: Array.from({ length: 21 }, (_, i) => `u${i + 1}`), ...text('x') }, tok);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'invalidParameter.userIds.overMax', message: expect.any(String), requestid: expect.any(String) });
    expect(sim.messages()).toHaveLength(0);
    expect(sim.calls.at(-1)?.counted).toBe(false);
  });

  it('§4: getbymobile without a mobile -> errcode 400002', async () => {
    const r = await oldCall(MOBILE, {}, tok);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ errcode: 400002, errmsg: expect.any(String) });
    expect(sim.calls.at(-1)?.code).toBe('400002');
  });

  it('§0, §8: an old-API call with a bad token -> HTTP 200, errcode 88 with sub_code "40014"', async () => {
    const r = await oldCall(MOBILE, { mobile: '13800000001' }, 'not-a-token');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ errcode: 88, errmsg: expect.any(String), sub_code: '40014', sub_msg: expect.any(String), request_id: expect.any(String) });
    expect(typeof r.json.sub_code).toBe('string');
    expect(sim.calls.at(-1)).toMatchObject({ api: 'getbymobile', status: 200, code: '88/40014' });
  });

  it('§0, §8: the old-API QPS limit -> HTTP 200, errcode 88 with sub_code "90018"', async () => {
    await sim.close();
    sim = await start({}, { ...APP, qps: 2 });
    tok = await token();
    const lookups = await Promise.all(Array.from({ length: 3 }, () => oldCall(MOBILE, { mobile: '13800000001' }, tok)));
    expect(lookups.map((r) => r.status)).toEqual([200, 200, 200]);
    const over = lookups.filter((r) => r.json.errcode !== 0);
    expect(over).toHaveLength(1);
    expect(over[0].json).toMatchObject({ errcode: 88, errmsg: expect.any(String), sub_code: '90018', sub_msg: expect.any(String), request_id: expect.any(String) });
    expect(sim.calls.filter((c) => c.overLimit).map((c) => [c.api, c.status, c.code])).toEqual([['getbymobile', 200, '88/90018']]);
  });
});
