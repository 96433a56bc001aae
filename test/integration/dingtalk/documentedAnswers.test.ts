import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { FaultKind } from '../../../infra/local/dingtalkSimulator/simulator';
import { aNotify, useWorld, statuses } from '../../support/world';

/**
 * The sender against the answers DingTalk documents (docs/dingtalk-api.md), through the real handler,
 * DynamoDB Local, the SQS server and the simulator: the old API's errcode 88 with the real code in
 * sub_code, and every documented throttling answer of the robot APIs.
 */

const w = useWorld();

describe('getbymobile (old API) answering through the gateway, errcode 88 + sub_code', () => {
  it('a refused token (sub_code 40014) is refreshed once and the lookup retried: the page goes out in the same attempt', async () => {
    const tenant = await w.aTenantWith({ users: [{ userId: 'user7', mobile: '13800000007' }] });
    const msg = aNotify(tenant, { to: { mobiles: ['13800000007'] } });
    w.sim.inject({ api: 'getbymobile', kind: 'invalidToken', count: 1 });
    await w.send(msg);
    const run = await w.deliver();
    expect(run.invocations).toBe(1);
    expect(w.sim.calls.filter((c) => c.api === 'getbymobile').map((c) => c.code ?? 'ok')).toEqual(['88/40014', 'ok']);
    expect(w.sim.calls.filter((c) => c.api === 'token')).toHaveLength(2);
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'mobile 13800000007': 'resolved', 'user user7': 'sent' });
  });

  it('a rate limit (sub_code 90018) is retried later, not taken for "no such user": the page goes out', async () => {
    const tenant = await w.aTenantWith({ users: [{ userId: 'user8', mobile: '13800000008' }] });
    const msg = aNotify(tenant, { to: { mobiles: ['13800000008'] } });
    w.sim.inject({ api: 'getbymobile', kind: 'qps', count: 1 });
    await w.send(msg);
    await w.deliver();
    expect(w.sim.calls.filter((c) => c.api === 'getbymobile').map((c) => c.code ?? 'ok')).toEqual(['88/90018', 'ok']);
    expect(w.sim.messages().map((m) => m.to)).toEqual(['user8']);
    expect(await w.takeDeadLetters()).toEqual([]);
  });
});

describe('robot sends under every documented throttling answer are retried, and delivered once', () => {
  it.each<[string, FaultKind, string]>([
    ['400 send.too.fast', 'sendTooFast', 'send.too.fast'],
    ['400 send.byToken.tooFast', 'byTokenTooFast', 'send.byToken.tooFast'],
    ['403 Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', 'qps', 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi'],
  ])('%s on a DM and on a group post', async (_name, kind, code) => {
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }], groups: [{ openConversationId: 'cidOps==' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1'], openConversationIds: ['cidOps=='] } });
    w.sim.inject({ api: 'batchSend', kind, count: 1 });
    w.sim.inject({ api: 'groupSend', kind, count: 1 });
    await w.send(msg);
    await w.deliver();
    const sends = w.sim.calls.filter((c) => c.api === 'batchSend' || c.api === 'groupSend');
    expect(sends.filter((c) => c.code === code)).toHaveLength(2);
    expect(w.sim.messages().map((m) => m.to).sort()).toEqual(['cidOps==', 'user1']);
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'user user1': 'sent', 'group cidOps==': 'sent' });
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('403 Forbidden.AccessDenied.QpmLimitForAppkeyAndApi (a per-minute limit) is retried, but no sooner than a minute later', async () => {
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1'] } });
    w.sim.inject({ api: 'batchSend', kind: 'qpm', count: 1 });
    await w.send(msg);
    await w.deliver();
    // handed back, waiting out the minute (not visible yet), nothing sent meanwhile
    expect(w.sim.messages()).toEqual([]);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(o.message).toMatchObject({ state: 'retrying' });
    expect(o.recipients[0]).toMatchObject({ status: 'retry', code: 'Forbidden.AccessDenied.QpmLimitForAppkeyAndApi' });
    const attrs = await w.sqs.send(new GetQueueAttributesCommand({ QueueUrl: w.aws.notifyQueueUrl, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));
    expect(Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(1);
  });
});
