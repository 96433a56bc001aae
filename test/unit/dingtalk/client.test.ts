import { DingTalkClient, NO_SUCH_MOBILE } from '../../../lib/dingtalk/client';
import { classifyNetworkError, classifyResponse, DingTalkError, isAmbiguous } from '../../../lib/dingtalk/errors';
import { startSimulator, type Simulator } from '../../../infra/local/dingtalkSimulator/simulator';

const newApi = (status: number, code: string) => classifyResponse('new', status, JSON.stringify({ code, message: 'm', requestid: 'REQ-1' }));
const oldApi = (errcode: number) => classifyResponse('old', 200, JSON.stringify({ errcode, errmsg: 'm', request_id: 'req-2' }));

describe('classifying the answers docs/dingtalk-api.md documents', () => {
  const gateway = (sub: string) => classifyResponse('old', 200, JSON.stringify({ errcode: 88, errmsg: 'ding talk error', sub_code: sub, sub_msg: 'real reason', request_id: 'r' }));

  it('the old API gateway errcode 88 is classified by its sub_code', () => {
    expect(gateway('40014')).toMatchObject({ kind: 'refreshToken', code: '40014', message: 'real reason' });
    expect(gateway('90018')).toMatchObject({ kind: 'retryable', code: '90018', cause: 'qps' });
    expect(gateway('60011')).toMatchObject({ kind: 'permanent', code: '60011' });
    expect(classifyResponse('old', 200, JSON.stringify({ errcode: 88, errmsg: 'no sub code' }))).toMatchObject({ kind: 'permanent', code: '88' });
  });

  it.each([
    [400, 'send.too.fast'],
    [400, 'send.byToken.tooFast'],
    [400, 'too.many.people'],
    [400, 'toomuch.msg'],
    [400, 'invokeFrequency'],
    [403, 'Forbidden.AccessDenied.QpmLimitForAppkeyAndApi'],
    [403, 'Forbidden.AccessDenied.QpsLimitForApi'],
  ])('%i %s is throttling: retried, counted as throttled', (status, code) => {
    expect(newApi(status, code)).toMatchObject({ kind: 'retryable', code, cause: 'qps' });
  });

  it('the old API "temporarily disabled" throttles (90001, 90003-90006) are retried', () => {
    for (const code of [90001, 90003, 90004, 90005, 90006]) expect(oldApi(code)).toMatchObject({ kind: 'retryable', cause: 'qps' });
  });

  it('"send outcome unknown" is retried as ambiguous', () => {
    const r = newApi(400, 'unknown.send.result');
    expect(r).toMatchObject({ kind: 'retryable', cause: 'server' });
    expect(r.kind !== 'ok' && isAmbiguous(r)).toBe(true);
  });

  it('the IP ban as JSON, whatever the status, waits at least 5 minutes', () => {
    for (const status of [200, 403]) {
      const r = classifyResponse('new', status, JSON.stringify({ status: 1111, wait: 5, source: 'x5', punish: 'deny', uuid: 'u' }));
      expect(r).toMatchObject({ kind: 'retryable', code: 'ipBan', retryAfterMs: 300_000 });
    }
  });
});

describe('classifying DingTalk answers', () => {
  it('a 200 from a new API is ok, with the request id', () => {
    expect(classifyResponse('new', 200, '{"processQueryKey":"k","requestid":"R"}')).toEqual({ kind: 'ok', data: { processQueryKey: 'k', requestid: 'R' }, status: 200, requestId: 'R' });
  });

  it('errcode 0 from an old API is ok', () => {
    expect(oldApi(0).kind).toBe('ok');
  });

  it.each([
    ['new 5xx', newApi(503, 'ServiceUnavailable'), 'retryable', 'server'],
    ['new 500 without a code', classifyResponse('new', 500, '{}'), 'retryable', 'server'],
    ['per-app QPS', newApi(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi'), 'retryable', 'qps'],
    ['global QPS', newApi(403, 'Forbidden.AccessDenied.QpsLimitForApi'), 'retryable', 'qps'],
    ['old per-app QPS 90018', oldApi(90018), 'retryable', 'qps'],
    ['old global QPS 90002', oldApi(90002), 'retryable', 'qps'],
    ['old system busy -1', oldApi(-1), 'retryable', 'server'],
    ['HTML ban page', classifyResponse('new', 403, '<!DOCTYPE html><html>封禁</html>'), 'retryable', 'nonJson'],
    ['HTML from an old API', classifyResponse('old', 200, '<html></html>'), 'retryable', 'nonJson'],
    ['empty body', classifyResponse('new', 502, ''), 'retryable', 'nonJson'],
  ])('%s -> retryable', (_name, r, kind, cause) => {
    expect(r).toMatchObject({ kind, cause });
  });

  it.each([
    ['InvalidAuthentication', newApi(400, 'InvalidAuthentication')],
    ['40014', oldApi(40014)],
    ['42001', oldApi(42001)],
  ])('a refused token (%s) -> refreshToken', (_name, r) => {
    expect(r.kind).toBe('refreshToken');
  });

  it.each([
    ['ApiCountLimitForOrg', newApi(403, 'Forbidden.AccessDenied.ApiCountLimitForOrg')],
    ['90020', oldApi(90020)],
  ])('the monthly quota (%s) -> quotaExhausted', (_name, r) => {
    expect(r.kind).toBe('quotaExhausted');
  });

  it.each([
    ['invalidParameter.msgParam.tooLong', newApi(400, 'invalidParameter.msgParam.tooLong')],
    ['invalidParameter.userIds.overMax', newApi(400, 'invalidParameter.userIds.overMax')],
    ['group.disbanded', newApi(400, 'group.disbanded')],
    ['invalid.openConversationId', newApi(400, 'invalid.openConversationId')],
    ['invalidParameter.robotCode.notExsit', newApi(400, 'invalidParameter.robotCode.notExsit')],
    ['parameter.invalid', newApi(400, 'parameter.invalid')],
    ['40104 not a mobile of the org', oldApi(40104)],
    ['invalidClientIdOrSecret', newApi(400, 'invalidClientIdOrSecret')],
    ['60121 no such user', oldApi(60121)],
  ])('%s -> permanent, keeping code and request id', (code, r) => {
    expect(r).toMatchObject({ kind: 'permanent', code: code.split(' ')[0] });
    expect(r.kind !== 'ok' && r.requestId).toMatch(/^(REQ-1|req-2)$/);
  });

  it('no answer: a timeout or a network error is retryable', () => {
    expect(classifyNetworkError(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toMatchObject({ kind: 'retryable', code: 'timeout', status: 0 });
    expect(classifyNetworkError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toMatchObject({ kind: 'retryable', code: 'network', message: 'network error: ECONNREFUSED' });
  });

  it('DingTalkError carries code, request id and the retryable flag', () => {
    const e = new DingTalkError({ kind: 'quotaExhausted', code: '90020', message: 'quota', requestId: 'r' }, 'batchSend');
    expect(e).toMatchObject({ code: '90020', kind: 'quotaExhausted', retryable: false, requestId: 'r', api: 'batchSend' });
    expect(new DingTalkError({ kind: 'retryable', code: 'timeout', message: 'x' }).retryable).toBe(true);
    expect(e.toFailure()).toMatchObject({ kind: 'quotaExhausted', code: '90020', message: 'batchSend: quota' });
  });
});

describe('DingTalkClient against the simulator', () => {
  let sim: Simulator;
  let client: DingTalkClient;
  const app = { clientId: 'dingunitapp', clientSecret: 's3cret', corpId: 'dingunitcorp', qps: 100, monthlyQuota: 1000 };

  beforeAll(async () => {
    sim = await startSimulator();
    sim.addApp(app);
    sim.addUser(app.corpId, { userId: 'u1', mobile: '13800000001' });
    sim.addGroup(app.corpId, { openConversationId: 'cidGone==', disbanded: true });
    client = new DingTalkClient({ apiUrl: `${sim.url}/`, oapiUrl: sim.oapiUrl, timeoutMs: 300 });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  const token = async () => {
    const r = await client.getAccessToken(app.clientId, app.clientSecret);
    if (r.kind !== 'ok') throw new Error(r.code);
    return r.data.accessToken;
  };
  const md = { msgKey: 'sampleMarkdown', msgParam: JSON.stringify({ title: 't', text: 'x' }) };

  it('tells an ambiguous failure (DingTalk may have delivered) from a clear refusal', async () => {
    const t = await token();
    const send = () => client.batchSend(t, { robotCode: app.clientId, userIds: ['u1'], ...md });
    const cases: Array<[Parameters<Simulator['inject']>[0]['kind'], boolean, boolean]> = [
      // fault, delivered by DingTalk, ambiguous to the client
      ['deliverThen5xx', true, true],
      ['hangThenDeliver', true, true],
      ['deliverThenReset', true, true],
      ['5xx', false, true],
      ['reset', false, true],
      ['qps', false, false],
      ['invalidToken', false, false],
    ];
    for (const [kind, delivered, ambiguous] of cases) {
      sim.reset();
      sim.inject({ api: 'batchSend', kind, count: 1 });
      const r = await send();
      expect({ kind, ok: r.kind === 'ok', ambiguous: r.kind !== 'ok' && isAmbiguous(r), delivered: sim.messages().length === 1 }).toEqual({ kind, ok: false, ambiguous, delivered });
    }
    expect(isAmbiguous(classifyNetworkError(Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } })))).toBe(false);
  });

  it('injects faults at random by rate, only on the listed APIs', async () => {
    const t = await token();
    sim.setFaultRates({ apis: ['groupSend'], rates: { deliverThen5xx: 1 } });
    expect((await client.batchSend(t, { robotCode: app.clientId, userIds: ['u1'], ...md })).kind).toBe('ok');
    sim.setFaultRates(undefined);
    expect(sim.calls.filter((c) => c.fault)).toEqual([]);
  });

  it('gets a token, sends a DM and looks a mobile up', async () => {
    const t = await token();
    expect(await client.batchSend(t, { robotCode: app.clientId, userIds: ['u1', 'nobody'], ...md })).toMatchObject({ kind: 'ok', data: { invalidStaffIdList: ['nobody'] } });
    expect(await client.getUserIdByMobile(t, '13800000001')).toMatchObject({ kind: 'ok', data: { userId: 'u1' } });
    expect(await client.getUserIdByMobile(t, '13900000000')).toMatchObject({ kind: 'permanent', code: NO_SUCH_MOBILE });
  });

  it('bad credentials are permanent', async () => {
    expect(await client.getAccessToken(app.clientId, 'wrong')).toMatchObject({ kind: 'permanent', code: 'invalidClientIdOrSecret', status: 400 });
  });

  it.each([
    ['5xx', 'retryable'],
    ['html', 'retryable'],
    ['qps', 'retryable'],
    ['quota', 'quotaExhausted'],
    ['invalidToken', 'refreshToken'],
    ['timeout', 'retryable'],
  ] as const)('fault %s -> %s', async (kind, want) => {
    const t = await token();
    sim.inject({ api: 'batchSend', kind, count: 1 });
    const r = await client.batchSend(t, { robotCode: app.clientId, userIds: ['u1'], ...md });
    expect(r.kind).toBe(want);
    expect(r.kind !== 'ok' && r.code).toBeTruthy();
  });

  it('old-API faults are classified the same way', async () => {
    const t = await token();
    sim.inject({ api: 'getbymobile', kind: 'qps', count: 1 });
    sim.inject({ api: 'getbymobile', kind: 'invalidToken', count: 1 });
    expect(await client.getUserIdByMobile(t, '13800000001')).toMatchObject({ kind: 'retryable', code: '90018', cause: 'qps' });
    expect(await client.getUserIdByMobile(t, '13800000001')).toMatchObject({ kind: 'refreshToken', code: '40014' });
  });

  it('a disbanded group is permanent', async () => {
    const r = await client.groupSend(await token(), { robotCode: app.clientId, openConversationId: 'cidGone==', ...md });
    expect(r).toMatchObject({ kind: 'permanent', code: 'group.disbanded' });
    expect(r.kind !== 'ok' && r.requestId).toBeTruthy();
  });

  it('nobody listening is a retryable network error', async () => {
    const dead = new DingTalkClient({ apiUrl: 'http://127.0.0.1:1', oapiUrl: 'http://127.0.0.1:1' });
    expect(await dead.getAccessToken('a', 'b')).toMatchObject({ kind: 'retryable', code: 'network' });
  });
});
