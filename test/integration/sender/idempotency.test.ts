import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Outcomes } from '../../../lib/delivery/outcomes';
import { lambdaContext } from '../../support/factories';
import { aNotify, useWorld, statuses } from '../../support/world';

/**
 * A notify id is delivered at most once: SQS redeliveries, Flashduty re-sending the same id, and a
 * crash between DingTalk's answer and the SQS delete never send a recipient a second copy.
 */

const w = useWorld();

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ userId: `p${i + 1}` }));

describe('at most once per id', () => {
  it('the same id sent twice at once (one batch) is delivered once', async () => {
    // given
    const users = people(25);
    const tenant = await w.aTenantWith({ users, groups: [{ openConversationId: 'cidDup==' }] });
    const msg = aNotify(tenant, { to: { userIds: users.map((u) => u.userId), openConversationIds: ['cidDup=='] } });
    // when
    await w.send(msg);
    await w.send(msg);
    await w.deliver();
    // then
    expect(w.sim.messages()).toHaveLength(26);
    expect(new Set(w.sim.messages().map((m) => m.to)).size).toBe(26);
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('the same id sent again later is not delivered again', async () => {
    // given: delivered once
    const tenant = await w.aTenantWith({ groups: [{ openConversationId: 'cidLater==' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1'], openConversationIds: ['cidLater=='] } });
    await w.send(msg);
    await w.deliver();
    expect(w.sim.messages()).toHaveLength(2);
    // when
    w.sim.reset();
    await w.send(msg);
    await w.deliver();
    // then: no DingTalk call at all
    expect(w.sim.calls.filter((c) => c.api === 'batchSend' || c.api === 'groupSend')).toHaveLength(0);
    expect((await w.outcome(tenant.tenantId, msg.id)).message).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('a crash after DingTalk answered but before SQS deleted the message sends nothing the second time', async () => {
    // given: the handler ran and DingTalk delivered, but the delete never happened
    const users = people(30);
    const tenant = await w.aTenantWith({ users });
    const msg = aNotify(tenant, { to: { userIds: users.map((u) => u.userId) } });
    await w.send(msg);
    const [record] = await w.receive();
    await w.handler({ Records: [record] }, lambdaContext);
    expect(w.sim.messages()).toHaveLength(30);
    // when: SQS hands the same record to the function again
    const again = await w.handler({ Records: [{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }] }, lambdaContext);
    // then
    expect(again.batchItemFailures).toEqual([]);
    expect(w.sim.messages()).toHaveLength(30);
    expect(w.calls('batchSend', tenant.clientId)).toHaveLength(2);
    await w.invoke([record]);
  });

  it('an id re-used for different content is dead-lettered and nothing is sent for it', async () => {
    // given
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }, { userId: 'user2' }] });
    const first = aNotify(tenant, { to: { userIds: ['user1'] } });
    await w.send(first);
    await w.deliver();
    w.sim.reset();
    // when
    await w.send({ ...first, to: { userIds: ['user2'] } });
    await w.deliver();
    // then
    expect(w.sim.messages()).toHaveLength(0);
    expect((await w.takeDeadLetters()).map((d) => d.reason)).toEqual([`id ${first.id} was already used for a different message: not sent`]);
  });
});

describe('a claim left behind by an attempt that died mid-send', () => {
  it('an orphaned claim (older than the lease) is recorded as unknown and not re-sent; the others are delivered', async () => {
    // given: an attempt claimed user1 ten minutes ago and died before recording what DingTalk said
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }, { userId: 'user2' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1', 'user2'] } });
    const tenMinutesAgo = Date.now() - 10 * 60_000;
    expect(await new Outcomes(w.table, tenant.tenantId, msg.id, () => tenMinutesAgo).claim('user', 'user1', 'dead-attempt')).toBe(true);
    // when
    await w.send(msg);
    await w.deliver();
    // then
    expect(w.sim.messages().map((m) => m.to)).toEqual(['user2']);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(statuses(o)).toEqual({ 'user user1': 'unknown', 'user user2': 'sent' });
    expect(o.recipients.find((r) => r.to === 'user1')).toMatchObject({ code: 'orphanedClaim' });
    expect(o.message).toMatchObject({ state: 'done' });
  });

  it('a fresh claim belongs to an attempt still running: skipped, not sent twice', async () => {
    // given: another invocation is sending to user1 right now
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }, { userId: 'user2' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1', 'user2'] } });
    await new Outcomes(w.table, tenant.tenantId, msg.id, Date.now).claim('user', 'user1', 'running-attempt');
    // when
    await w.send(msg);
    await w.deliver();
    // then
    expect(w.sim.messages().map((m) => m.to)).toEqual(['user2']);
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'user user1': 'pending', 'user user2': 'sent' });
  });
});

describe('redriving a dead-lettered message', () => {
  it('only the recipients that failed are tried again', async () => {
    // given: a group that did not exist yet; the users got the message
    const tenant = await w.aTenantWith({ users: people(3) });
    const msg = aNotify(tenant, { to: { userIds: ['p1', 'p2', 'p3'], openConversationIds: ['cidLate=='] } });
    await w.send(msg);
    await w.deliver();
    const [dead] = await w.takeDeadLetters();
    expect(dead.reason).toContain('group cidLate==: group.notExist');
    // when: the group exists now and the operator redrives the dead letter
    w.sim.reset();
    w.sim.addGroup(tenant.corpId, { openConversationId: 'cidLate==' });
    await w.sqs.send(new SendMessageCommand({ QueueUrl: w.aws.notifyQueueUrl, MessageBody: dead.body }));
    await w.deliver();
    // then
    expect(w.sim.messages().map((m) => m.to)).toEqual(['cidLate==']);
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toMatchObject({ 'group cidLate==': 'sent', 'user p1': 'sent' });
  });
});
