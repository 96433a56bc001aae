import { runTenantCli } from '../../../lib/cli/tenant';
import { homePage, tableSources } from '../../../lib/homepage';
import { QUEUES } from '../../../lib/contracts/deployment';
import { listParked } from '../../../lib/quota/parking';
import { usage } from '../../../lib/quota/counter';
import { aNotify, useWorld, statuses } from '../../support/world';

/**
 * What DingTalk's failures do to a message: retryable ones bring it back through SQS until it is
 * delivered (nothing sent twice, nothing lost); permanent ones are recorded and dead-lettered with
 * the reason; the monthly quota is recorded as such.
 *
 * Attempts are counted with the sender's own record (`attempts`), not ApproximateReceiveCount: the
 * local SQS server (local-aws-sqs 2.0.2) counts a ChangeMessageVisibility as one more receive,
 * which real SQS does not.
 */

const w = useWorld();

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ userId: `p${i + 1}` }));

describe('retryable failures come back through SQS and are then delivered, once', () => {
  it.each([
    ['a 5xx', '5xx'],
    ['an HTML page instead of JSON (IP ban)', 'html'],
    ['a QPS rejection', 'qps'],
    ['a timeout', 'timeout'],
  ] as const)('%s on the second DM batch', async (_name, kind) => {
    // given: 45 users; the second batch will fail once
    const users = people(45);
    const tenant = await w.aTenantWith({ users });
    const msg = aNotify(tenant, { to: { userIds: users.map((u) => u.userId) } });
    await w.send(msg);
    const first = await w.receive();
    w.sim.inject({ api: 'batchSend', kind, count: 1 });
    // when
    const failed = await w.invoke(first);
    const rest = await w.deliver();
    // then: handed back once, then delivered; every user exactly once
    expect(failed).toEqual([first[0].messageId]);
    expect(rest.invocations).toBe(1);
    const to = w.sim.messages().map((m) => m.to);
    expect(to).toHaveLength(45);
    expect(new Set(to).size).toBe(45);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(o.message).toMatchObject({ state: 'done', attempts: 2 });
    expect(Object.values(statuses(o)).every((s) => s === 'sent')).toBe(true);
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('a group send and a mobile lookup retried the same way', async () => {
    // given
    const tenant = await w.aTenantWith({ users: [{ userId: 'ann', mobile: '13700000001' }], groups: [{ openConversationId: 'cidR==' }] });
    const msg = aNotify(tenant, { to: { mobiles: ['13700000001'], openConversationIds: ['cidR=='] } });
    w.sim.inject({ api: 'groupSend', kind: '5xx', count: 2 });
    w.sim.inject({ api: 'getbymobile', kind: 'html', count: 1 });
    // when
    await w.send(msg);
    const run = await w.deliver();
    // then
    expect(run.invocations).toBe(3);
    expect(w.sim.messages().map((m) => m.to).sort()).toEqual(['ann', 'cidR==']);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(statuses(o)).toEqual({ 'mobile 13700000001': 'resolved', 'user ann': 'sent', 'group cidR==': 'sent' });
    expect(o.message).toMatchObject({ state: 'done', attempts: 3 });
  });

  it('a message still failing at the last receive goes to the dead-letter queue with the reason', async () => {
    // given: DingTalk answers 5xx; the message is on its last receive (maxReceiveCount)
    const tenant = await w.aTenantWith();
    const msg = aNotify(tenant);
    w.sim.inject({ api: 'batchSend', kind: '5xx', count: 100 });
    await w.send(msg);
    const [record] = await w.receive();
    record.attributes.ApproximateReceiveCount = String(QUEUES.notify.maxReceiveCount);
    // when
    const failed = await w.invoke([record]);
    // then: acknowledged, dead-lettered with why, nothing left on the queue
    expect(failed).toEqual([]);
    const dead = await w.takeDeadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0].reason).toMatch(/^gave up after 8 attempts: retryable: user user1: (ServiceUnavailable|system\.error) \(/);
    expect(dead[0].body).toBe(JSON.stringify(msg));
    expect((await w.outcome(tenant.tenantId, msg.id)).message).toMatchObject({ state: 'deadLettered' });
    expect((await w.deliver()).invocations).toBe(0);
  });
});

describe('an access token that expires mid-run', () => {
  it('is refreshed once and no message is lost', async () => {
    // given: the token is cached from a first message
    const users = people(45);
    const tenant = await w.aTenantWith({ users });
    await w.send(aNotify(tenant, { to: { userIds: ['p1'] } }));
    await w.deliver();
    expect(w.calls('token', tenant.clientId)).toHaveLength(1);
    // when: DingTalk forgets every token, then three messages arrive at once
    w.sim.expireTokens();
    const msgs = [0, 1, 2].map((i) => aNotify(tenant, { to: { userIds: users.map((u) => u.userId) }, message: { title: `page ${i}`, markdown: `### page ${i}` } }));
    for (const m of msgs) await w.send(m);
    await w.deliver();
    // then: one more token call, every message delivered to all 45 in the first attempt
    expect(w.calls('token', tenant.clientId)).toHaveLength(2);
    expect(w.sim.messages()).toHaveLength(1 + 3 * 45);
    for (const m of msgs) expect((await w.outcome(tenant.tenantId, m.id)).message).toMatchObject({ state: 'done', attempts: 1 });
  });
});

describe('permanent failures are recorded and dead-lettered, the rest delivered', () => {
  it('a disbanded or unknown group', async () => {
    // given
    const tenant = await w.aTenantWith({ groups: [{ openConversationId: 'cidGone==', disbanded: true }, { openConversationId: 'cidOk==' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1'], openConversationIds: ['cidGone==', 'cidNever==', 'cidOk=='] } });
    // when
    await w.send(msg);
    const run = await w.deliver();
    // then: one attempt; the good recipients got it; the reason names the groups and codes
    expect(run.receiveCounts).toEqual([1]);
    expect(w.sim.messages().map((m) => m.to).sort()).toEqual(['cidOk==', 'user1']);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(statuses(o)).toEqual({ 'user user1': 'sent', 'group cidOk==': 'sent', 'group cidGone==': 'failed', 'group cidNever==': 'failed' });
    expect(o.recipients.find((r) => r.to === 'cidGone==')).toMatchObject({ code: 'group.disbanded', requestId: expect.any(String) });
    const dead = await w.takeDeadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0].reason).toContain('group cidGone==: group.disbanded');
    expect(dead[0].reason).toContain('group cidNever==: invalid.openConversationId');
    expect(o.message).toMatchObject({ state: 'deadLettered' });
  });

  it('users DingTalk does not know are reported as invalid, not retried, not dead-lettered', async () => {
    // given
    const tenant = await w.aTenantWith({ users: [{ userId: 'real' }] });
    const msg = aNotify(tenant, { to: { userIds: ['real', 'ghost'] } });
    // when
    await w.send(msg);
    const run = await w.deliver();
    // then
    expect(run.receiveCounts).toEqual([1]);
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'user real': 'sent', 'user ghost': 'invalidUser' });
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('wrong app credentials: dead-lettered with the token error', async () => {
    // given: the simulator knows another secret
    const tenant = await w.aTenantWith();
    w.sim.addApp({ clientId: tenant.clientId, clientSecret: 'rotated', corpId: tenant.corpId, qps: 100, monthlyQuota: 1000 });
    // when
    await w.send(aNotify(tenant));
    await w.deliver();
    // then
    const dead = await w.takeDeadLetters();
    expect(dead[0].reason).toContain('invalidClientIdOrSecret');
    expect(w.sim.messages()).toHaveLength(0);
  });

  it('an unknown tenant', async () => {
    await w.send(aNotify({ tenantId: 'nobody-here' }));
    await w.deliver();
    expect((await w.takeDeadLetters()).map((d) => d.reason)).toEqual(['unknown tenant nobody-here']);
  });
});

describe('the monthly quota', () => {
  it('DingTalk says the organisation is exhausted: recorded, the message parked (not lost, not dead-lettered), the month marked', async () => {
    // given
    const tenant = await w.aTenantWith({ monthlyQuota: 10 });
    w.sim.setQuotaUsed(tenant.corpId, 10);
    const msg = aNotify(tenant);
    // when
    await w.send(msg);
    const run = await w.deliver();
    // then
    expect(run.receiveCounts).toEqual([1]);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(o.recipients[0]).toMatchObject({ status: 'quotaExhausted', code: 'Forbidden.AccessDenied.ApiCountLimitForOrg' });
    expect(await w.takeDeadLetters()).toEqual([]);
    const parked = await listParked(w.table, tenant.corpId);
    expect(parked.map((p) => [p.message, p.reason])).toEqual([[msg, expect.stringMatching(/^monthly quota exhausted: user user1: Forbidden\.AccessDenied\.ApiCountLimitForOrg/)]]);
    expect((await usage(w.table, tenant.corpId)).exhausted).toBe(true);
    expect(w.sim.messages()).toHaveLength(0);
  });

  it("DingTalk's limit below the configured quota is recorded, reported by tenant usage and the homepage, and nothing more is sent into it", async () => {
    // given: the tenant is configured for 100 calls a month, DingTalk allows this organisation 3
    const tenant = await w.aTenantWith({ monthlyQuota: 3, tenant: { monthlyQuota: 100 } });
    const msgs = Array.from({ length: 6 }, (_, i) => aNotify(tenant, { severity: 'critical', message: { title: `page ${i}`, markdown: `page ${i}` } }));
    // when: sent one after the other
    for (const m of msgs) {
      await w.send(m);
      await w.deliver();
    }
    // then: 3 delivered, DingTalk refused once, the rest parked without another call into the refusal
    expect(w.sim.messages()).toHaveLength(3);
    const refused = w.sim.calls.filter((c) => c.code === 'Forbidden.AccessDenied.ApiCountLimitForOrg');
    expect(refused).toHaveLength(1);
    expect(await listParked(w.table, tenant.corpId)).toHaveLength(3);
    expect(await usage(w.table, tenant.corpId)).toMatchObject({ used: 3, exhausted: true, observedLimit: 3 });
    // and the operator is told what to set
    const out: string[] = [];
    expect(await runTenantCli(['usage', tenant.tenantId], { table: w.table, out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
    expect(out.join('\n')).toContain('DingTalk refused for its monthly quota at 3 calls, below the configured 100: set monthlyQuota to 3');
    const page = await homePage(tableSources(w.table), { tenantId: tenant.tenantId, corpId: tenant.corpId, now: Date.now() });
    expect(page.html.replaceAll('&#39;', "'")).toContain("DingTalk's limit for this organisation is 3 calls, below the configured 100");
  });
});
