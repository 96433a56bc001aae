import { fixture } from '../../support/factories';
import type { MessageState } from '../../../lib/delivery/rule';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import { prepareEvent, processEvent } from '../../../lib/events';
import type { WarRoomCreateRequest } from '../../../lib/contracts/notifyMessage';
import { applyTitle, getGroup } from '../../../lib/store/groups';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { warRoomKey } from '../../../lib/contracts/tableKeys';
import { getWarRoom, recordWarRoom } from '../../../lib/store/warRooms';
import type { Tenant } from '../../../lib/contracts/tenant';
import { clipWarRoomTitle, warRoomUuid } from '../../../lib/warroom';
import { useWorld, statuses } from '../../support/world';

/**
 * Flashduty opens a war room for an incident: `war_room.create` on the notify queue, the local
 * poller invoking the sender as Lambda would, the simulator as DingTalk with the tenant's group
 * template. One scene group per incident, its members, the summary posted once by the group bot.
 */

const w = useWorld({ poller: true });

const TEMPLATE = 'tpl-warroom-it';
const BOT = 'dingwarroombotit';
let seq = 0;

/** `n` users with mobiles 139<prefix><nnnnn>. */
const people = (n: number, prefix = '0') => Array.from({ length: n }, (_, i) => ({ userId: `p${prefix}${i + 1}`, mobile: `139${prefix}${String(i + 1).padStart(7, '0')}` }));

/** A tenant with the war-room template (and its bot) installed in its organisation. */
async function aWarRoomTenant(opts: { users?: Array<{ userId: string; mobile?: string }>; installDelayMs?: number; tenant?: Partial<Tenant> } = {}): Promise<Tenant> {
  const tenant = await w.aTenantWith({ users: opts.users ?? people(5), tenant: { warRoomTemplateId: TEMPLATE, warRoomBotId: BOT, ...opts.tenant } });
  w.sim.addTemplate(tenant.corpId, { templateId: TEMPLATE, botId: BOT, installDelayMs: opts.installDelayMs ?? 0 });
  return tenant;
}

function aWarRoomRequest(tenant: Pick<Tenant, 'tenantId'>, over: Partial<WarRoomCreateRequest> = {}): WarRoomCreateRequest {
  seq += 1;
  return {
    version: 1,
    id: `fd-wr-${Date.now()}-${seq}`,
    tenantId: tenant.tenantId,
    kind: 'war_room.create',
    incident: { id: `inc-${seq}`, title: `[P1] 支付服务错误率 > 5% #${seq}`, url: `https://console.flashcat.cloud/incident/detail/${seq}` },
    ownerMobile: people(1)[0].mobile,
    memberMobiles: people(5).slice(1).map((p) => p.mobile),
    ...over,
  };
}

/** Waits until the message reached one of `states`; returns its outcome. */
const settled = (tenantId: string, id: string, states: MessageState[] = ['done'], attempts = 1) =>
  w.until(async () => {
    const o = await w.outcome(tenantId, id);
    return o.message && states.includes(o.message.state) && o.message.attempts >= attempts ? o : undefined;
  });

/** Waits for the dead letter of message `id`. */
const deadLetterOf = (id: string) => {
  const seen: Array<{ body: string; reason: string; notifyId?: string }> = [];
  return w.until(async () => {
    seen.push(...(await w.takeDeadLetters()));
    return seen.find((d) => d.notifyId === id);
  });
};


describe('war_room.create opens one war room per incident', () => {
  it('a new incident gets exactly one scene group from the template, and one summary from the group bot', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const msg = aWarRoomRequest(tenant);
    // when
    await w.send(msg);
    const o = await settled(tenant.tenantId, msg.id);
    // then: the group
    const groups = w.sim.groupsCreated();
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({
      templateId: TEMPLATE,
      title: msg.incident.title,
      ownerUserId: 'p01',
      userIds: ['p02', 'p03', 'p04', 'p05'],
      uuid: warRoomUuid(tenant.tenantId, msg.incident.id),
    });
    // and the summary, from the template's bot, with the incident link and the button, in Chinese (no tenant locale: zh-CN)
    const messages = w.sim.messages();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ api: 'groupSend', robotCode: BOT, to: groups[0].openConversationId, msgKey: 'sampleActionCard' });
    expect(messages[0].msgParam).toMatchObject({ title: msg.incident.title, singleTitle: '在 Flashduty 中查看', singleURL: msg.incident.url });
    expect(messages[0].msgParam.text).toContain(`(${msg.incident.url})`);
    // and the record: incident <-> group, and the group item marked as a war room
    const room = await getWarRoom(w.table, tenant.tenantId, msg.incident.id);
    expect(room).toMatchObject({
      openConversationId: groups[0].openConversationId,
      chatId: groups[0].chatId,
      title: msg.incident.title,
      ownerUserId: 'p01',
      members: ['p02', 'p03', 'p04', 'p05'],
      templateId: TEMPLATE,
      botId: BOT,
      createdBy: msg.id,
      summary: { status: 'sent', messageId: msg.id },
    });
    expect((await getGroup(w.table, tenant.tenantId, groups[0].openConversationId))?.warRoom).toEqual({ incidentId: msg.incident.id, title: msg.incident.title });
    expect(statuses(o)).toMatchObject({ [`group ${groups[0].openConversationId}`]: 'sent', 'user p01': 'sent', 'mobile 13900000001': 'resolved' });
    // and every counted call was a scene-group or robot call
    expect(w.sim.calls.filter((c) => c.counted).map((c) => c.api).sort()).toEqual(['groupSend', 'sceneGroupCreate']);
  });

  it('a title longer than 30 characters is clipped (in UTF-16 units: an emoji counts 2)', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const title = '🔥【P1】支付服务错误率超过百分之五，订单服务超时，数据库连接池耗尽，请值班同学立即处理 👩‍💻';
    const msg = aWarRoomRequest(tenant, { incident: { id: 'inc-long', title } });
    // when
    await w.send(msg);
    await settled(tenant.tenantId, msg.id);
    // then
    const [group] = w.sim.groupsCreated();
    expect(group.title).toBe(clipWarRoomTitle(title));
    expect(group.title.length).toBe(30); // UTF-16 units: the leading 🔥 counts 2
    expect(group.title).toMatch(/^🔥.*…$/u);
    // the summary keeps the whole title
    expect(w.sim.messages()[0].msgParam.title).toBe(title);
  });

  it('a second request for the incident adds the missing members to the same group: no second group, no second summary', async () => {
    // given: the war room exists with p01 (owner) and p02, p03
    const tenant = await aWarRoomTenant({ users: people(6) });
    const first = aWarRoomRequest(tenant, { memberMobiles: [people(3)[1].mobile, people(3)[2].mobile] });
    await w.send(first);
    await settled(tenant.tenantId, first.id);
    const [group] = w.sim.groupsCreated();
    w.sim.reset();
    // when: another message (another id) for the same incident, with p04 and p05 new
    const second = aWarRoomRequest(tenant, { incident: first.incident, memberMobiles: people(5).slice(1).map((p) => p.mobile) });
    await w.send(second);
    await settled(tenant.tenantId, second.id);
    // then
    expect(w.calls('sceneGroupCreate')).toHaveLength(0);
    expect(w.sim.groupsCreated()).toHaveLength(0);
    const adds = w.calls('sceneGroupMemberAdd');
    expect(adds.map((c) => c.body)).toEqual([{ open_conversation_id: group.openConversationId, user_ids: ['p04', 'p05'] }]);
    expect(w.sim.messages()).toHaveLength(0);
    const room = await getWarRoom(w.table, tenant.tenantId, first.incident.id);
    expect(room?.openConversationId).toBe(group.openConversationId);
    expect(room?.members).toEqual(['p02', 'p03', 'p04', 'p05']);

    // and when the very same message is delivered again, nothing more happens
    w.sim.reset();
    await w.send(second);
    await settled(tenant.tenantId, second.id, ['done'], 2);
    expect(w.sim.calls.filter((c) => c.api !== 'token')).toHaveLength(0);
  });

  it('a redelivered message never creates a second group or posts twice, even if the first attempt died after create', async () => {
    // given: DingTalk made the group (same uuid) but the attempt died before recording it
    const tenant = await aWarRoomTenant();
    const msg = aWarRoomRequest(tenant);
    const client = new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl });
    const token = await client.getAccessToken(tenant.clientId, tenant.clientSecret);
    if (token.kind !== 'ok') throw new Error('no token');
    const earlier = await client.sceneGroupCreate(token.data.accessToken, {
      title: clipWarRoomTitle(msg.incident.title), template_id: TEMPLATE, owner_user_id: 'p01', user_ids: ['p02', 'p03', 'p04', 'p05'], uuid: warRoomUuid(tenant.tenantId, msg.incident.id),
    });
    if (earlier.kind !== 'ok') throw new Error('no group');
    // when: the message comes (again), twice
    await w.send(msg);
    await settled(tenant.tenantId, msg.id);
    await w.send(msg);
    await settled(tenant.tenantId, msg.id, ['done'], 2);
    // then: still the one group, and one summary in it
    expect(w.sim.groupsCreated()).toHaveLength(1);
    expect((await getWarRoom(w.table, tenant.tenantId, msg.incident.id))?.openConversationId).toBe(earlier.data.openConversationId);
    expect(w.sim.messages().map((m) => m.to)).toEqual([earlier.data.openConversationId]);
  });

  it('an attempt that died while posting the summary: the next attempt posts it again, marked as a possible duplicate', async () => {
    // given: a war room whose summary was claimed long ago by an attempt that never recorded an answer
    const tenant = await aWarRoomTenant();
    const first = aWarRoomRequest(tenant);
    await w.send(first);
    await settled(tenant.tenantId, first.id);
    const [group] = w.sim.groupsCreated();
    const longAgo = Date.now() - 3600_000;
    await w.table.doc.send(
      new UpdateCommand({
        TableName: w.table.name,
        Key: warRoomKey(tenant.tenantId, first.incident.id),
        UpdateExpression: 'SET summary = :s',
        ExpressionAttributeValues: { ':s': { status: 'pending', attemptId: 'dead-attempt', claimedAt: longAgo, messageId: first.id, updatedAt: new Date(longAgo).toISOString() } },
      }),
    );
    w.sim.reset();
    // when: another request for the incident
    const second = aWarRoomRequest(tenant, { incident: first.incident });
    await w.send(second);
    const o = await settled(tenant.tenantId, second.id);
    // then: posted again (a duplicate beats a lost summary), and marked as one
    expect(w.sim.messages().map((m) => m.to)).toEqual([group.openConversationId]);
    expect(statuses(o)[`group ${group.openConversationId}`]).toBe('sent');
    expect((await getWarRoom(w.table, tenant.tenantId, first.incident.id))?.summary).toMatchObject({ status: 'sent', possibleDuplicate: true, messageId: second.id });
  });

  it('a summary claim held by a live attempt defers the message instead of taking it for done', async () => {
    const tenant = await aWarRoomTenant();
    const first = aWarRoomRequest(tenant);
    await w.send(first);
    await settled(tenant.tenantId, first.id);
    await w.table.doc.send(
      new UpdateCommand({
        TableName: w.table.name,
        Key: warRoomKey(tenant.tenantId, first.incident.id),
        UpdateExpression: 'SET summary = :s',
        ExpressionAttributeValues: { ':s': { status: 'pending', attemptId: 'live-attempt', claimedAt: Date.now(), messageId: first.id, updatedAt: new Date().toISOString() } },
      }),
    );
    const [group] = w.sim.groupsCreated();
    w.sim.reset();
    const second = aWarRoomRequest(tenant, { incident: first.incident });
    await w.send(second);
    const o = await settled(tenant.tenantId, second.id, ['retrying']);
    expect(w.sim.messages()).toHaveLength(0);
    expect(o.message?.reason).toMatch(/another attempt's claim/);
    expect(statuses(o)[`group ${group.openConversationId}`]).toBeUndefined();
  });

  it('an unknown member mobile is reported; the group is still created without them', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const msg = aWarRoomRequest(tenant, { memberMobiles: [people(2)[1].mobile, '13700000009'] });
    // when
    await w.send(msg);
    const o = await settled(tenant.tenantId, msg.id);
    // then
    expect(statuses(o)['mobile 13700000009']).toBe('unknownMobile');
    expect(w.sim.groupsCreated()).toHaveLength(1);
    expect(w.sim.groupsCreated()[0].userIds).toEqual(['p02']);
    expect(w.sim.messages()).toHaveLength(1);
  });

  it('an unknown owner mobile is a permanent failure: dead-lettered with the reason, no group', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const msg = aWarRoomRequest(tenant, { ownerMobile: '13700000001' });
    // when
    await w.send(msg);
    // then
    const dead = await deadLetterOf(msg.id);
    expect(dead.reason).toBe("the war room's owner (mobile 137****0001) is not a DingTalk user of this organisation: no war room created");
    expect(w.calls('sceneGroupCreate')).toHaveLength(0);
    expect(w.sim.messages()).toHaveLength(0);
    const o = await settled(tenant.tenantId, msg.id, ['deadLettered']);
    expect(o.message?.reason).toBe(dead.reason);
    expect(statuses(o)['mobile 13700000001']).toBe('unknownMobile');
  });

  it.each([
    ['warRoomTemplateId', { warRoomTemplateId: undefined }, 'warRoomTemplateId not set'],
    ['warRoomBotId', { warRoomBotId: undefined }, 'warRoomBotId not set'],
    ['both', { warRoomTemplateId: undefined, warRoomBotId: undefined }, 'warRoomTemplateId and warRoomBotId not set'],
  ])('a tenant without %s: dead-lettered with the reason, recorded, no DingTalk call', async (_what, over, missing) => {
    // given
    const tenant = await aWarRoomTenant({ tenant: over });
    const msg = aWarRoomRequest(tenant);
    // when
    await w.send(msg);
    // then
    const dead = await deadLetterOf(msg.id);
    expect(dead.reason).toBe(`war_room.create not enabled for tenant ${tenant.tenantId}: ${missing} (add the war-room template's Template ID and Bot ID to the tenant record)`);
    expect(dead.body).toBe(JSON.stringify(msg));
    expect(w.sim.calls).toHaveLength(0);
    const o = await settled(tenant.tenantId, msg.id, ['deadLettered']);
    expect(o.message).toMatchObject({ state: 'deadLettered', reason: dead.reason, attempts: 1 });
  });

  it('while the template installs its bot, the first summary post fails; it is posted again, exactly once', async () => {
    // given: the template's bot joins the group 1.5 s after creation
    const tenant = await aWarRoomTenant({ installDelayMs: 1500 });
    const msg = aWarRoomRequest(tenant);
    // when
    await w.send(msg);
    await settled(tenant.tenantId, msg.id);
    // then
    const sends = w.calls('groupSend');
    expect(sends.length).toBeGreaterThanOrEqual(2);
    expect(sends[0].code).toBe('invalidParameter.robotCode.notExsit');
    expect(sends[sends.length - 1].status).toBe(200);
    expect(w.sim.messages()).toHaveLength(1);
    expect(w.sim.messages()[0].robotCode).toBe(BOT);
    expect(w.calls('sceneGroupCreate')).toHaveLength(1);
  });

  it('more than 40 members: 40 in the create call, the rest added with member/add', async () => {
    // given: the owner and 44 members
    const everyone = people(45);
    const tenant = await aWarRoomTenant({ users: everyone });
    const msg = aWarRoomRequest(tenant, { memberMobiles: everyone.slice(1).map((p) => p.mobile) });
    // when
    await w.send(msg);
    await settled(tenant.tenantId, msg.id);
    // then
    const [group] = w.sim.groupsCreated();
    expect(group.userIds).toEqual(everyone.slice(1, 41).map((p) => p.userId));
    const adds = w.calls('sceneGroupMemberAdd').map((c) => c.body as { user_ids: string[] });
    expect(adds.map((b) => b.user_ids)).toEqual([everyone.slice(41).map((p) => p.userId)]);
    expect((await getWarRoom(w.table, tenant.tenantId, msg.incident.id))?.members).toHaveLength(44);
    expect(w.sim.messages()).toHaveLength(1);
  });

  it('renaming the war room in DingTalk (chat_update_title) renames the recorded war room', async () => {
    // given
    const tenant = await aWarRoomTenant();
    const msg = aWarRoomRequest(tenant);
    await w.send(msg);
    await settled(tenant.tenantId, msg.id);
    const [group] = w.sim.groupsCreated();
    // when: the rename event, as the events function processes it
    const body = JSON.stringify({
      tenantId: tenant.tenantId,
      eventId: `rename-${msg.id}`,
      event: { EventType: 'chat_update_title', eventId: `rename-${msg.id}`, EventTime: String(Date.now()), CorpId: tenant.corpId, chatId: group.chatId, openConversationId: group.openConversationId, title: '支付故障作战室 · 已定位' },
    });
    const outcome = await processEvent({ table: w.table, now: Date.now }, prepareEvent(body, Date.now()));
    // then
    expect(outcome.result).toBe('applied');
    const room = await getWarRoom(w.table, tenant.tenantId, msg.incident.id);
    expect(room?.title).toBe('支付故障作战室 · 已定位');
    expect(room?.createdTitle).toBe(msg.incident.title);
    expect((await getGroup(w.table, tenant.tenantId, group.openConversationId))?.warRoom).toEqual({ incidentId: msg.incident.id, title: '支付故障作战室 · 已定位' });
  });

  it('a rename that arrives before the war room is recorded is not lost', async () => {
    // given: the group was renamed (event stored) before the sender recorded the war room
    const tenant = await aWarRoomTenant();
    await applyTitle(w.table, tenant.tenantId, { openConversationId: 'cidEarlyRename==', title: '已改名的作战室', at: Date.now() }, Date.now());
    // when
    await recordWarRoom(w.table, {
      tenantId: tenant.tenantId, incidentId: 'inc-early', openConversationId: 'cidEarlyRename==', createdTitle: 'DB down',
      templateId: TEMPLATE, botId: BOT, ownerUserId: 'p01', members: [], uuid: warRoomUuid(tenant.tenantId, 'inc-early'), createdBy: 'm1',
    }, Date.now());
    // then
    expect((await getWarRoom(w.table, tenant.tenantId, 'inc-early'))?.title).toBe('已改名的作战室');
    expect((await getGroup(w.table, tenant.tenantId, 'cidEarlyRename=='))?.warRoom).toEqual({ incidentId: 'inc-early', title: '已改名的作战室' });
  });

  it('the README example (test/fixtures/warroom-create.json) opens its war room', async () => {
    // given: tenant "acme" and the people the fixture names
    const example = fixture('warroom-create.json') as WarRoomCreateRequest;
    const tenant = await aWarRoomTenant({
      tenant: { tenantId: 'acme' },
      users: [1, 2, 3, 4].map((i) => ({ userId: `user00${i}`, mobile: `1380000000${i}` })),
    });
    // when
    await w.send(example);
    const o = await settled(tenant.tenantId, example.id);
    // then
    const [group] = w.sim.groupsCreated();
    expect(group).toMatchObject({ ownerUserId: 'user001', userIds: ['user002', 'user003', 'user004'], title: clipWarRoomTitle(example.incident.title) });
    expect(w.sim.messages()).toEqual([expect.objectContaining({ robotCode: BOT, to: group.openConversationId })]);
    expect(statuses(o)[`group ${group.openConversationId}`]).toBe('sent');
  });
});
