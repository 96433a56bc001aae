import type { WarRoomCreateRequest, WarRoomDismissRequest, WarRoomUpdateRequest } from '../../../lib/contracts/notifyMessage';
import type { Tenant } from '../../../lib/contracts/tenant';
import { QUEUES } from '../../../lib/contracts/deployment';
import { getGroup } from '../../../lib/store/groups';
import { putLink } from '../../../lib/store/links';
import { getWarRoom, recordWarRoom } from '../../../lib/store/warRooms';
import { warRoomUuid } from '../../../lib/warroom';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import { DingTalkError } from '../../../lib/dingtalk/errors';
import { createSender } from '../../../lib/sender/createSender';
import { aRecordingGate, statuses, useWorld } from '../../support/world';

/**
 * War rooms that follow the responders (docs/two-way.md, "Contract v1 additions"): `war_room.update`
 * invites new people into an incident's war room (by mobile, or by Flashduty member through its
 * link), `war_room.dismiss` disbands it. The sender on the real path (DynamoDB Local, the SQS server,
 * the DingTalk simulator enforcing docs/dingtalk-api.md §5.2 and §5.3).
 */

const w = useWorld();

const TEMPLATE = 'tpl-warroom-follow';
const BOT = 'dingwarroombotfollow';
let seq = 0;

/** `n` users f1..fn with mobiles 1360000nnnn. */
const people = (n: number) => Array.from({ length: n }, (_, i) => ({ userId: `f${i + 1}`, mobile: `1360000${String(i + 1).padStart(4, '0')}` }));
const mobileOf = (userId: string) => people(20).find((p) => p.userId === userId)!.mobile;

async function aWarRoomTenant(): Promise<Tenant> {
  const tenant = await w.aTenantWith({ users: people(8), tenant: { warRoomTemplateId: TEMPLATE, warRoomBotId: BOT } });
  w.sim.addTemplate(tenant.corpId, { templateId: TEMPLATE, botId: BOT, installDelayMs: 0 });
  return tenant;
}

const nextId = (what: string) => `fd-${what}-${Date.now()}-${++seq}`;

function aCreate(tenant: Tenant, incidentId: string, members: string[]): WarRoomCreateRequest {
  return {
    version: 1, id: nextId('create'), tenantId: tenant.tenantId, kind: 'war_room.create',
    incident: { id: incidentId, title: `订单服务超时 ${incidentId}` }, ownerMobile: mobileOf('f1'), memberMobiles: members.map(mobileOf),
  };
}

function anUpdate(tenant: Tenant, incidentId: string, over: Partial<WarRoomUpdateRequest>): WarRoomUpdateRequest {
  return { version: 1, id: nextId('update'), tenantId: tenant.tenantId, kind: 'war_room.update', incident: { id: incidentId }, ...over };
}

function aDismiss(tenant: Tenant, incidentId: string): WarRoomDismissRequest {
  return { version: 1, id: nextId('dismiss'), tenantId: tenant.tenantId, kind: 'war_room.dismiss', incident: { id: incidentId } };
}

/** A war room for a new incident, owner f1 and `members`; the simulator's calls reset after. */
async function aWarRoom(tenant: Tenant, members = ['f2']): Promise<{ incidentId: string; cid: string }> {
  const incidentId = `inc-follow-${++seq}`;
  await w.send(aCreate(tenant, incidentId, members));
  await w.deliver();
  const room = await getWarRoom(w.table, tenant.tenantId, incidentId);
  if (!room) throw new Error('the war room was not created');
  w.sim.reset();
  return { incidentId, cid: room.openConversationId };
}

/** Sends `msg`, runs the sender until the queue is empty; its record and the dead letters. */
async function deliver(msg: { tenantId: string; id: string }) {
  await w.send(msg);
  await w.deliver();
  const dead = (await w.takeDeadLetters()).filter((d) => d.notifyId === msg.id);
  return { outcome: await w.outcome(msg.tenantId, msg.id), dead };
}

const linkOf = (memberId: string, userId: string) => ({ memberId, userId, linkedAt: new Date().toISOString() });
const members = (tenant: Tenant, cid: string) => w.sim.group(tenant.corpId, cid)?.members.slice().sort();

describe('war_room.update invites new responders', () => {
  it('adds the new members, by mobile and by linked Flashduty member, to the war room the simulator holds', async () => {
    // given: the war room of f1 (owner) and f2; Flashduty member 2476444212005 is linked to f5
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    await putLink(w.table, tenant.tenantId, linkOf('2476444212005', 'f5'));
    // when
    const msg = anUpdate(tenant, incidentId, { memberMobiles: [mobileOf('f3'), mobileOf('f4')], memberIds: ['2476444212005'] });
    const { outcome, dead } = await deliver(msg);
    // then
    expect(dead).toEqual([]);
    expect(outcome.message?.state).toBe('done');
    expect(members(tenant, cid)).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
    expect(w.calls('sceneGroupMemberAdd').map((c) => c.body)).toEqual([{ open_conversation_id: cid, user_ids: ['f3', 'f4', 'f5'] }]);
    expect(w.calls('sceneGroupCreate')).toHaveLength(0);
    expect(w.calls('groupSend')).toHaveLength(0);
    expect((await getWarRoom(w.table, tenant.tenantId, incidentId))?.members).toEqual(['f2', 'f3', 'f4', 'f5']);
    expect(statuses(outcome)).toEqual({
      'mobile 13600000003': 'resolved', 'mobile 13600000004': 'resolved', 'member 2476444212005': 'resolved',
      'user f3': 'sent', 'user f4': 'sent', 'user f5': 'sent',
    });
  });

  it('a repeat adds nobody: the same message again, or another naming people already in', async () => {
    // given: an update that added f3
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    const first = anUpdate(tenant, incidentId, { memberMobiles: [mobileOf('f3')] });
    await deliver(first);
    expect(w.calls('sceneGroupMemberAdd')).toHaveLength(1);
    w.sim.reset();
    // when: redelivered, then another update naming the owner, f2 and f3
    const again = await deliver(first);
    await putLink(w.table, tenant.tenantId, linkOf('2476444212003', 'f3'));
    const other = await deliver(anUpdate(tenant, incidentId, { memberMobiles: [mobileOf('f1'), mobileOf('f2')], memberIds: ['2476444212003'] }));
    // then
    expect(w.calls('sceneGroupMemberAdd')).toHaveLength(0);
    expect(again.outcome.message).toMatchObject({ state: 'done', attempts: 2 });
    expect(other.outcome.message?.state).toBe('done');
    expect(members(tenant, cid)).toEqual(['f1', 'f2', 'f3']);
  });

  it('an unlinked member is reported as unlinked, never dropped silently; the linked ones are added', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    await putLink(w.table, tenant.tenantId, linkOf('2476444212006', 'f6'));
    // when
    const { outcome, dead } = await deliver(anUpdate(tenant, incidentId, { memberIds: ['2476444212006', '2476444212999'] }));
    // then
    expect(dead).toEqual([]);
    expect(outcome.message?.state).toBe('done');
    expect(statuses(outcome)).toMatchObject({ 'member 2476444212999': 'unlinked', 'member 2476444212006': 'resolved', 'user f6': 'sent' });
    expect(outcome.recipients.find((r) => r.to === '2476444212999')?.message).toBe('no DingTalk user linked to this Flashduty member');
    expect(members(tenant, cid)).toEqual(['f1', 'f2', 'f6']);
  });

  it('before the war room exists it is retried, then dead-lettered with "no war room for incident X"', async () => {
    // given: no war room for the incident
    const tenant = await aWarRoomTenant();
    const msg = anUpdate(tenant, 'inc-never', { memberMobiles: [mobileOf('f3')] });
    await w.send(msg);
    // when: a first attempt
    expect(await w.invoke(await w.receive())).toHaveLength(1);
    // then: handed back to SQS for a retry
    expect((await w.outcome(tenant.tenantId, msg.id)).message).toMatchObject({ state: 'retrying', reason: 'no war room for incident inc-never (yet: its war_room.create may still be in flight)' });
    expect(await w.takeDeadLetters()).toEqual([]);
    // when: it comes back on its last receive, still without a war room
    const [record] = await w.until(async () => { const r = await w.receive(); return r.length ? r : undefined; });
    record.attributes.ApproximateReceiveCount = String(QUEUES.notify.maxReceiveCount);
    expect(await w.invoke([record])).toEqual([]);
    // then: dead-lettered with the reason, no DingTalk call made
    const dead = await w.takeDeadLetters();
    expect(dead.map((d) => d.reason)).toEqual(['gave up after 8 attempts: no war room for incident inc-never (yet: its war_room.create may still be in flight)']);
    expect((await w.outcome(tenant.tenantId, msg.id)).message).toMatchObject({ state: 'deadLettered', attempts: 2 });
    expect(w.sim.calls.filter((c) => c.api !== 'token')).toHaveLength(0);
  });

  it('an update that arrives while the war room is being created gets in once it exists', async () => {
    // given: the update is tried before the create
    const tenant = await aWarRoomTenant();
    const incidentId = `inc-follow-late-${++seq}`;
    const update = anUpdate(tenant, incidentId, { memberMobiles: [mobileOf('f4')] });
    await w.send(update);
    const failed = await w.invoke(await w.receive());
    expect(failed).toHaveLength(1);
    // when: the create comes, and both run to the end
    await w.send(aCreate(tenant, incidentId, ['f2']));
    await w.deliver();
    // then
    const room = await getWarRoom(w.table, tenant.tenantId, incidentId);
    expect(room?.members).toEqual(['f2', 'f4']);
    expect(members(tenant, room!.openConversationId)).toEqual(['f1', 'f2', 'f4']);
    expect((await w.outcome(tenant.tenantId, update.id)).message?.state).toBe('done');
    expect(await w.takeDeadLetters()).toEqual([]);
  });
});

describe('war_room.dismiss disbands the war room', () => {
  it('disbands the group in DingTalk and records it on the war room and its group', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    // when
    const msg = aDismiss(tenant, incidentId);
    const { outcome, dead } = await deliver(msg);
    // then
    expect(dead).toEqual([]);
    expect(w.sim.group(tenant.corpId, cid)?.disbanded).toBe(true);
    expect(w.calls('sceneGroupDisband').map((c) => c.body)).toEqual([{ openConversationId: cid }]);
    expect(outcome.message?.state).toBe('done');
    expect(statuses(outcome)).toEqual({ [`group ${cid}`]: 'sent' });
    const room = await getWarRoom(w.table, tenant.tenantId, incidentId);
    expect(room).toMatchObject({ dismissedBy: msg.id, dismissedAt: expect.any(String) });
    expect((await getGroup(w.table, tenant.tenantId, cid))?.disbandedAt).toBe(room?.dismissedAt);
  });

  it('a second dismiss, and a redelivery, make no second call', async () => {
    // given: dismissed once
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    const first = aDismiss(tenant, incidentId);
    await deliver(first);
    // when
    const second = await deliver(aDismiss(tenant, incidentId));
    const again = await deliver(first);
    // then
    expect(w.calls('sceneGroupDisband')).toHaveLength(1);
    expect(second.dead).toEqual([]);
    expect(second.outcome.message?.state).toBe('done');
    expect(again.outcome.message).toMatchObject({ state: 'done', attempts: 2 });
    expect(statuses(second.outcome)).toEqual({ [`group ${cid}`]: 'sent' });
    expect((await getWarRoom(w.table, tenant.tenantId, incidentId))?.dismissedBy).toBe(first.id);
  });

  it('an update after the dismiss is dead-lettered ("war room dismissed"), nobody added', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const { incidentId } = await aWarRoom(tenant);
    await deliver(aDismiss(tenant, incidentId));
    w.sim.reset();
    // when
    const { outcome, dead } = await deliver(anUpdate(tenant, incidentId, { memberMobiles: [mobileOf('f3')] }));
    // then
    expect(dead).toHaveLength(1);
    expect(dead[0].reason).toMatch(/^war room dismissed: the war room of incident inc-follow-\d+ \(cid.+\) was disbanded at .+ by message fd-dismiss-.+: nobody added$/);
    expect(outcome.message?.state).toBe('deadLettered');
    expect(w.sim.calls.filter((c) => c.api !== 'token')).toHaveLength(0);
  });

  it('a war_room.create for a dismissed incident opens nothing: dead-lettered', async () => {
    const tenant = await aWarRoomTenant();
    const { incidentId } = await aWarRoom(tenant);
    await deliver(aDismiss(tenant, incidentId));
    w.sim.reset();
    const { dead } = await deliver(aCreate(tenant, incidentId, ['f3']));
    expect(dead[0]?.reason).toMatch(/^war room dismissed: /);
    expect(w.calls('sceneGroupCreate')).toHaveLength(0);
    expect(w.calls('sceneGroupMemberAdd')).toHaveLength(0);
    expect(w.calls('groupSend')).toHaveLength(0);
  });

  it('an incident without a war room is dead-lettered with the reason, no call', async () => {
    const tenant = await aWarRoomTenant();
    const { outcome, dead } = await deliver(aDismiss(tenant, 'inc-unknown'));
    expect(dead.map((d) => d.reason)).toEqual(['no war room for incident inc-unknown: nothing to dismiss']);
    expect(outcome.message?.state).toBe('deadLettered');
    expect(w.sim.calls.filter((c) => c.api !== 'token')).toHaveLength(0);
  });

  it('a permanent DingTalk refusal (paramIllegal) is dead-lettered with the reason; the war room stays recorded live', async () => {
    // given: a war room recorded for a group DingTalk does not know as a scene group
    const tenant = await aWarRoomTenant();
    w.sim.addGroup(tenant.corpId, { openConversationId: 'cidPlainGroup==' });
    await recordWarRoom(w.table, {
      tenantId: tenant.tenantId, incidentId: 'inc-plain', openConversationId: 'cidPlainGroup==', createdTitle: 'DB down',
      templateId: TEMPLATE, botId: BOT, ownerUserId: 'f1', members: [], uuid: warRoomUuid(tenant.tenantId, 'inc-plain'), createdBy: 'm0',
    }, Date.now());
    // when
    const { outcome, dead } = await deliver(aDismiss(tenant, 'inc-plain'));
    // then
    expect(w.calls('sceneGroupDisband')).toHaveLength(1);
    expect(dead).toHaveLength(1);
    expect(dead[0].reason).toBe(
      'the war room of incident inc-plain (cidPlainGroup==) was not dismissed: scenegroup/disband: paramIllegal (no such scene group): DingTalk knows no live scene group by this id (disbanded in DingTalk already, or not a scene group)',
    );
    expect(statuses(outcome)).toEqual({ 'group cidPlainGroup==': 'failed' });
    const room = await getWarRoom(w.table, tenant.tenantId, 'inc-plain');
    expect(room?.dismissedAt).toBeUndefined();
    expect((await getGroup(w.table, tenant.tenantId, 'cidPlainGroup=='))?.disbandedAt).toBeUndefined();
  });

  it('a system error is retried, then the group is disbanded', async () => {
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    w.sim.inject({ api: 'sceneGroupDisband', kind: '5xx', count: 1 });
    const { outcome, dead } = await deliver(aDismiss(tenant, incidentId));
    expect(dead).toEqual([]);
    expect(w.calls('sceneGroupDisband').map((c) => c.status)).toEqual([expect.any(Number), 200]);
    expect(w.calls('sceneGroupDisband')[0].status).toBeGreaterThanOrEqual(500);
    expect(outcome.message?.state).toBe('done');
    expect(w.sim.group(tenant.corpId, cid)?.disbanded).toBe(true);
  });

  it('a disband whose answer was lost: the retry is refused as unknown, and the war room is recorded dismissed', async () => {
    // given: DingTalk disbands the group, then answers 5xx
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    w.sim.inject({ api: 'sceneGroupDisband', kind: 'deliverThen5xx', count: 1 });
    // when
    const msg = aDismiss(tenant, incidentId);
    const { outcome, dead } = await deliver(msg);
    // then
    expect(dead).toEqual([]);
    const calls = w.calls('sceneGroupDisband');
    expect(calls).toHaveLength(2);
    expect(calls[1].code).toBe('paramIllegal');
    expect(outcome.message?.state).toBe('done');
    expect(statuses(outcome)).toEqual({ [`group ${cid}`]: 'sent' });
    expect(await getWarRoom(w.table, tenant.tenantId, incidentId)).toMatchObject({ dismissedBy: msg.id, disbandUnansweredAt: expect.any(String) });
  });
});

describe('war room updates and dismissals pass the call gate', () => {
  /** The sender core with `gate`, the default kind handlers; runs what is on the queue once. */
  async function runWith(gate: ReturnType<typeof aRecordingGate>['gate'], park?: (m: { id: string }, reason: string) => Promise<void>) {
    const client = new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl, timeoutMs: 1000 });
    const sender = createSender({ table: w.table, sqs: w.sqs, client, gate, dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, retry: { baseSeconds: 0 }, ...(park ? { park } : {}) });
    const results = [];
    for (const r of await w.receive()) results.push(await sender.processRecord(r).catch((e: Error) => e));
    return results;
  }

  it('member add and disband go through the gate, counted, with the message severity', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const { incidentId } = await aWarRoom(tenant);
    const { gate, before } = aRecordingGate();
    // when
    await w.send(anUpdate(tenant, incidentId, { memberMobiles: [mobileOf('f7')], severity: 'critical' }));
    const [updated] = await runWith(gate);
    await w.send({ ...aDismiss(tenant, incidentId), severity: 'critical' });
    const [dismissed] = await runWith(gate);
    // then
    expect(updated).toMatchObject({ verdict: 'done' });
    expect(dismissed).toMatchObject({ verdict: 'done' });
    const seen = before.filter((c) => c.api !== 'token' && c.api !== 'getbymobile').map((c) => [c.api, c.counted, c.severity, c.tenantId]);
    expect(seen).toEqual([['sceneGroupMemberAdd', true, 'critical', tenant.tenantId], ['sceneGroupDisband', true, 'critical', tenant.tenantId]]);
    expect(w.sim.calls.filter((c) => c.api !== 'token' && c.api !== 'getbymobile')).toHaveLength(2);
  });

  it('a disband the monthly quota refuses is not made: the message is parked, the war room stays live', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    const { gate } = aRecordingGate((c) => (c.counted ? new DingTalkError({ kind: 'quotaExhausted', code: 'quota.local', message: 'monthly quota reached' }) : undefined));
    const parked: string[] = [];
    const msg = aDismiss(tenant, incidentId);
    await w.send(msg);
    // when
    const [result] = await runWith(gate, async (m, reason) => void parked.push(`${m.id}: ${reason}`));
    // then
    expect(result).toMatchObject({ verdict: 'quotaExhausted' });
    expect(parked).toEqual([`${msg.id}: monthly quota exhausted: group ${cid}: scenegroup/disband: quota.local (monthly quota reached)`]);
    expect(w.calls('sceneGroupDisband')).toHaveLength(0);
    expect(w.sim.group(tenant.corpId, cid)?.disbanded).toBe(false);
    expect((await getWarRoom(w.table, tenant.tenantId, incidentId))?.dismissedAt).toBeUndefined();
  });
});

describe('two dismisses at once', () => {
  /**
   * Two deliveries processed concurrently by the sender core; the gate holds the answer of a
   * disband that succeeded for a moment, so a second call (if any) is answered before the first
   * records the dismissal.
   */
  async function runConcurrently() {
    const { gate: recording, before } = aRecordingGate();
    const gate = {
      before: recording.before,
      after: async (call: Parameters<typeof recording.after>[0], result: Parameters<typeof recording.after>[1]) => {
        if (call.api === 'sceneGroupDisband' && result.kind === 'ok') await new Promise((r) => setTimeout(r, 500));
        await recording.after(call, result);
      },
    };
    const client = new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl, timeoutMs: 2000 });
    const sender = createSender({ table: w.table, sqs: w.sqs, client, gate, dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, retry: { baseSeconds: 0 } });
    const records = await w.receive();
    expect(records).toHaveLength(2);
    const results = await Promise.all(records.map((r) => sender.processRecord(r).catch((e: Error) => e)));
    return { results, before };
  }

  it.each([
    ['a duplicate delivery of one message', true],
    ['two dismiss messages', false],
  ])('%s: one disband call, no false dead letter, the first one’s record kept', async (_what, duplicate) => {
    // given
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    const first = aDismiss(tenant, incidentId);
    const second = duplicate ? first : aDismiss(tenant, incidentId);
    await w.send(first);
    await w.send(second);
    // when: both at once
    const { results } = await runConcurrently();
    // then: one call; the other waits for it instead of being refused as unknown
    expect(w.calls('sceneGroupDisband')).toHaveLength(1);
    expect(w.calls('sceneGroupDisband')[0].status).toBe(200);
    expect(results.map((r) => (r as { verdict?: string }).verdict).sort()).toEqual(['defer', 'done']);
    expect(await w.takeDeadLetters()).toEqual([]);
    const room = await getWarRoom(w.table, tenant.tenantId, incidentId);
    expect(room?.dismissedAt).toEqual(expect.any(String));
    expect([first.id, second.id]).toContain(room?.dismissedBy);
    const winner = room!.dismissedBy === first.id ? first : second;
    const waiting = winner === first ? second : first;
    expect(statuses(await w.outcome(tenant.tenantId, winner.id))).toEqual({ [`group ${cid}`]: 'sent' });

    // and when the waiting one comes back: done without a call, the records `sent`
    await w.send(waiting);
    await w.deliver();
    expect(w.calls('sceneGroupDisband')).toHaveLength(1);
    expect(await w.takeDeadLetters()).toEqual([]);
    for (const m of [winner, waiting]) {
      expect(statuses(await w.outcome(tenant.tenantId, m.id))).toEqual({ [`group ${cid}`]: 'sent' });
      expect((await w.outcome(tenant.tenantId, m.id)).message?.state).toBe('done');
    }
  });

  it('a claim left by an attempt that died during its call is taken over: a refusal as unknown then means the group is gone', async () => {
    // given: an attempt claimed the disband 10 minutes ago, DingTalk disbanded the group, and the attempt died
    const { claimWarRoomDisband } = await import('../../../lib/store/warRoomDisband');
    const tenant = await aWarRoomTenant();
    const { incidentId, cid } = await aWarRoom(tenant);
    const then = Date.now() - 10 * 60_000;
    expect(await claimWarRoomDisband(w.table, tenant.tenantId, incidentId, 'a-dead-attempt', then, then - 1)).toEqual({ claimed: true, tookOver: false });
    w.sim.addGroup(tenant.corpId, { openConversationId: cid, disbanded: true });
    // when
    const msg = aDismiss(tenant, incidentId);
    const { outcome, dead } = await deliver(msg);
    // then
    expect(w.calls('sceneGroupDisband').map((c) => c.code)).toEqual(['paramIllegal']);
    expect(dead).toEqual([]);
    expect(statuses(outcome)).toEqual({ [`group ${cid}`]: 'sent' });
    expect(await getWarRoom(w.table, tenant.tenantId, incidentId)).toMatchObject({ dismissedBy: msg.id });
  });
});
