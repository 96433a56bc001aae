import { AccessTokens } from '../../../lib/dingtalk/accessTokens';
import { AppSession } from '../../../lib/dingtalk/appSession';
import { noopGate } from '../../../lib/dingtalk/callGate';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import { isAmbiguous } from '../../../lib/dingtalk/errors';
import { startSimulator, type Simulator } from '../../../infra/local/dingtalkSimulator/simulator';
import { useLocalTable } from '../../support/localAws';

const table = useLocalTable();
const app = { tenantId: 'acme', corpId: 'dingcorp-s', clientId: 'dingapp-s', clientSecret: 'secret-s' };
const md = { msgKey: 'sampleMarkdown', msgParam: JSON.stringify({ title: 't', text: 'x' }) };
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator();
  sim.addApp({ ...app, qps: 100, monthlyQuota: 1000 });
  sim.addUser(app.corpId, { userId: 'u1' });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const session = (outOfTime: () => boolean, as = app) => {
  const client = new DingTalkClient({ apiUrl: sim.url, oapiUrl: sim.oapiUrl, timeoutMs: 1000 });
  return new AppSession({ client, gate: noopGate, tokens: new AccessTokens({ table, client, gate: noopGate, now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }), outOfTime }, as);
};

describe('the app session and the invocation deadline', () => {
  it('starts no DingTalk call (not even the token) once the invocation is out of time: a plain retry, never ambiguous', async () => {
    const r = await session(() => true).batchSend({ userIds: ['u1'], ...md });
    expect(r).toMatchObject({ kind: 'retryable', code: 'local.notStarted', cause: 'notStarted' });
    expect(r.kind !== 'ok' && isAmbiguous(r)).toBe(false);
    expect(sim.calls).toEqual([]);
  });

  it('does not retry after a token refresh when the time ran out meanwhile', async () => {
    sim.inject({ api: 'batchSend', kind: 'invalidToken', count: 1 });
    // the first send is refused for its token; the deadline has passed by the time it answers
    const s = session(() => sim.calls.some((c) => c.api === 'batchSend'));
    const r = await s.batchSend({ userIds: ['u1'], ...md });
    expect(r).toMatchObject({ kind: 'retryable', code: 'local.notStarted' });
    expect(sim.calls.filter((c) => c.api === 'batchSend')).toHaveLength(1);
    expect(sim.messages()).toEqual([]);
  });

  it('a failed token call is not ambiguous: no message went out', async () => {
    // an app with no token cached yet
    const fresh = { ...app, clientId: 'dingapp-fresh' };
    sim.addApp({ ...fresh, qps: 100, monthlyQuota: 1000 });
    sim.inject({ api: 'token', kind: '5xx', count: 5 });
    const r = await session(() => false, fresh).batchSend({ userIds: ['u1'], ...md });
    expect(r.kind).toBe('retryable');
    expect(r.kind !== 'ok' && isAmbiguous(r)).toBe(false);
    expect(sim.messages()).toEqual([]);
  });
});
