import { AccessTokens, REFRESH_AHEAD_MS } from '../../../lib/dingtalk/accessTokens';
import { createSender } from '../../../lib/sender/createSender';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import { DingTalkError } from '../../../lib/dingtalk/errors';
import { readToken } from '../../../lib/store/tokens';
import { aRecordingGate, aNotify, useWorld, statuses } from '../../support/world';

/**
 * The sender core with its dependencies passed in: every DingTalk call passes the injectable gate
 * (where the rate limiter and the monthly counter plug in), and access tokens are shared by all
 * instances through DynamoDB, refreshed ahead of expiry by one of them at a time.
 */

const w = useWorld();
let client: DingTalkClient;

beforeAll(() => {
  client = new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl, timeoutMs: 1000 });
});


function aSender(over: Partial<Parameters<typeof createSender>[0]> = {}) {
  return createSender({ table: w.table, sqs: w.sqs, client, dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, retry: { baseSeconds: 0 }, ...over });
}

async function runSender(sender: ReturnType<typeof aSender>) {
  const records = await w.receive();
  const results = [];
  for (const r of records) results.push(await sender.processRecord(r).catch((e: Error) => e));
  return results;
}

describe('the call gate', () => {
  it('sees every DingTalk call, with app, organisation, whether it counts, and severity', async () => {
    // given
    const tenant = await w.aTenantWith({ users: [{ userId: 'u1', mobile: '13600000001' }], groups: [{ openConversationId: 'cidG==' }] });
    const { gate, before, after } = aRecordingGate();
    await w.send(aNotify(tenant, { severity: 'critical', to: { mobiles: ['13600000001'], openConversationIds: ['cidG=='] } }));
    // when
    await runSender(aSender({ gate }));
    // then
    const seen = before.map((c) => `${c.api}:${c.counted}`).sort();
    expect(seen).toEqual(['batchSend:true', 'getbymobile:false', 'groupSend:true', 'token:false']);
    expect(before.every((c) => c.clientId === tenant.clientId && c.corpId === tenant.corpId && c.tenantId === tenant.tenantId)).toBe(true);
    expect(before.filter((c) => c.api !== 'token').every((c) => c.severity === 'critical')).toBe(true);
    expect(after.map(([c, r]) => `${c.api}:${r.kind}`).sort()).toEqual(['batchSend:ok', 'getbymobile:ok', 'groupSend:ok', 'token:ok']);
    expect(w.sim.calls).toHaveLength(before.length);
  });

  it('a gate that refuses for the quota stops the call before it is made; the message is parked', async () => {
    // given: the counter says the organisation is out of calls
    const tenant = await w.aTenantWith();
    const { gate } = aRecordingGate((c) => (c.counted ? new DingTalkError({ kind: 'quotaExhausted', code: 'quota.local', message: 'monthly quota reached' }) : undefined));
    const parked: Array<{ id: string; reason: string }> = [];
    const msg = aNotify(tenant);
    await w.send(msg);
    // when
    const [result] = await runSender(aSender({ gate, park: async (m, reason) => void parked.push({ id: m.id, reason }) }));
    // then
    expect(result).toMatchObject({ verdict: 'quotaExhausted' });
    expect(parked).toEqual([{ id: msg.id, reason: 'monthly quota exhausted: user user1: quota.local (monthly quota reached)' }]);
    expect(w.calls('batchSend')).toHaveLength(0);
    expect((await w.outcome(tenant.tenantId, msg.id)).message).toMatchObject({ state: 'parked' });
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('a gate that fails unexpectedly before a send gives the claim back: the retry delivers it', async () => {
    // given: the gate's store is down once
    const tenant = await w.aTenantWith();
    let failures = 1;
    const { gate } = aRecordingGate((c) => (c.api === 'batchSend' && failures-- > 0 ? new Error('rate limiter table unavailable') : undefined));
    const msg = aNotify(tenant);
    await w.send(msg);
    const sender = aSender({ gate });
    // when
    const [first] = await runSender(sender);
    const [second] = await runSender(sender);
    // then
    expect(first).toBeInstanceOf(Error);
    expect((first as Error).message).toContain('rate limiter table unavailable');
    expect(second).toMatchObject({ verdict: 'done' });
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'user user1': 'sent' });
    expect(w.sim.messages()).toHaveLength(1);
    await w.deliver();
  });
});

describe('access tokens shared by every instance', () => {
  const appOf = async () => {
    const t = await w.aTenantWith();
    return { tenantId: t.tenantId, corpId: t.corpId, clientId: t.clientId, clientSecret: t.clientSecret };
  };
  const instance = (now: () => number) => new AccessTokens({ table: w.table, client, gate: aRecordingGate().gate, now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });

  it('ten instances starting at once make one token call', async () => {
    const app = await appOf();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => instance(Date.now).get(app)));
    expect(new Set(tokens).size).toBe(1);
    expect(w.calls('token', app.clientId)).toHaveLength(1);
  });

  it('a cached token is used from memory, then from DynamoDB by a new instance: no more token calls', async () => {
    const app = await appOf();
    const a = instance(Date.now);
    const t = await a.get(app);
    for (let i = 0; i < 5; i++) expect(await a.get(app)).toBe(t);
    expect(await instance(Date.now).get(app)).toBe(t);
    expect(w.calls('token', app.clientId)).toHaveLength(1);
    expect((await readToken(w.table, app.clientId))?.accessToken).toBe(t);
  });

  it('ten minutes before expiry one instance refreshes; the others keep the still-valid token', async () => {
    // given: a token fetched now, and a clock moved to 5 minutes before its expiry
    const app = await appOf();
    const first = await instance(Date.now).get(app);
    const stored = (await readToken(w.table, app.clientId))!;
    const later = () => stored.expiresAtMs - REFRESH_AHEAD_MS / 2;
    w.sim.expireTokens(); // DingTalk hands out a new token on the next token call
    // when: five instances want a token at that time
    const got = await Promise.all(Array.from({ length: 5 }, () => instance(later).get(app)));
    // then: one refresh; everyone has a token DingTalk accepts
    expect(w.calls('token', app.clientId)).toHaveLength(2);
    const fresh = (await readToken(w.table, app.clientId))!.accessToken;
    expect(fresh).not.toBe(first);
    for (const t of got) expect([first, fresh]).toContain(t);
  });
});
