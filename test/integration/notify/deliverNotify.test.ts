import { fixture } from '../../support/factories';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_MSG_PARAM_BYTES } from '../../../lib/notify/render';
import type { MessageState } from '../../../lib/delivery/rule';
import { runNotifyCli } from '../../../lib/cli/notify';
import { applyLink } from '../../../lib/store/groups';
import { aNotify, useWorld, statuses } from '../../support/world';

/**
 * Flashduty's notifications reach DingTalk users and groups: messages go on the notify queue, the
 * local poller invokes the sender as Lambda's SQS event source would, the simulator is DingTalk.
 */

const w = useWorld({ poller: true });


/** Waits until the message reached one of `states`; returns its outcome. */
const settled = (tenantId: string, id: string, states: MessageState[] = ['done']) =>
  w.until(async () => {
    const o = await w.outcome(tenantId, id);
    return o.message && states.includes(o.message.state) ? o : undefined;
  });

const users = (n: number, prefix = 'u') => Array.from({ length: n }, (_, i) => ({ userId: `${prefix}${i + 1}` }));

describe('the sender delivers Flashduty notifications to DingTalk', () => {
  it('a DM to 45 users takes exactly three batchSend calls of 20, 20 and 5, one token call', async () => {
    // given
    const people = users(45);
    const tenant = await w.aTenantWith({ users: people });
    const msg = aNotify(tenant, { to: { userIds: people.map((u) => u.userId) } });
    // when
    await w.send(msg);
    const o = await settled(tenant.tenantId, msg.id);
    // then
    const sends = w.calls('batchSend', tenant.clientId);
    expect(sends.map((c) => (c.body as { userIds: string[] }).userIds.length).sort((a, b) => b - a)).toEqual([20, 20, 5]);
    expect(new Set(w.sim.messages().map((m) => m.to))).toEqual(new Set(people.map((u) => u.userId)));
    expect(w.sim.messages()).toHaveLength(45);
    expect(w.calls('token', tenant.clientId)).toHaveLength(1);
    expect(o.recipients.filter((r) => r.status === 'sent')).toHaveLength(45);
  });

  it('mobiles are resolved (and cached); an unknown mobile is reported, not retried', async () => {
    // given
    const tenant = await w.aTenantWith({ users: [{ userId: 'zhang', mobile: '13800000001' }, { userId: 'li', mobile: '13800000003' }] });
    const msg = aNotify(tenant, { to: { mobiles: ['13800000001', '13800000003', '13900000009'] } });
    // when
    await w.send(msg);
    const o = await settled(tenant.tenantId, msg.id);
    // then
    expect(w.sim.messages().map((m) => m.to).sort()).toEqual(['li', 'zhang']);
    expect(statuses(o)).toEqual({
      'mobile 13800000001': 'resolved',
      'mobile 13800000003': 'resolved',
      'mobile 13900000009': 'unknownMobile',
      'user zhang': 'sent',
      'user li': 'sent',
    });
    expect(w.calls('getbymobile')).toHaveLength(3);

    // and when the same people are paged again, no lookups are made (the unknown one is cached too)
    w.sim.reset();
    const again = aNotify(tenant, { to: { mobiles: ['13800000001', '13800000003', '13900000009'] } });
    await w.send(again);
    await settled(tenant.tenantId, again.id);
    expect(w.calls('getbymobile')).toHaveLength(0);
    expect(w.sim.messages()).toHaveLength(2);
  });

  it('a group the cool app was installed in gets its coolAppCode; a plain group does not', async () => {
    // given
    const tenant = await w.aTenantWith({ groups: [{ openConversationId: 'cidCool==', coolAppCode: 'COOLAPP_1' }, { openConversationId: 'cidPlain==' }] });
    await applyLink(w.table, tenant.tenantId, { openConversationId: 'cidCool==', linked: true, at: Date.now(), coolAppCode: 'COOLAPP_1', robotCode: tenant.clientId }, Date.now());
    const msg = aNotify(tenant, { to: { openConversationIds: ['cidCool==', 'cidPlain=='] } });
    // when
    await w.send(msg);
    const o = await settled(tenant.tenantId, msg.id);
    // then
    const byGroup = Object.fromEntries(w.sim.messages().map((m) => [m.to, m]));
    expect(byGroup['cidCool=='].coolAppCode).toBe('COOLAPP_1');
    expect(byGroup['cidPlain==']).toBeDefined();
    expect(byGroup['cidPlain=='].coolAppCode).toBeUndefined();
    expect(statuses(o)).toEqual({ 'group cidCool==': 'sent', 'group cidPlain==': 'sent' });
  });

  it('the README examples (users, group, mixed) are delivered as written', async () => {
    // given: the fixtures' tenant "acme" and its people
    const tenant = await w.aTenantWith({
      tenant: { tenantId: 'acme' },
      users: [{ userId: 'user001', mobile: '13800000001' }, { userId: 'user002', mobile: '13800000002' }, { userId: 'user003', mobile: '13800000003' }],
      groups: [{ openConversationId: 'cidExampleGroup002==' }],
    });
    // when
    for (const f of ['notify-users.json', 'notify-group.json', 'notify-mixed.json']) await w.send(fixture(f));
    // then
    const [u, g, m] = await Promise.all(['notify-users.json', 'notify-group.json', 'notify-mixed.json'].map((f) => settled(tenant.tenantId, fixture(f).id)));
    expect(statuses(u)).toEqual({ 'user user001': 'sent', 'user user002': 'sent' });
    expect(statuses(g)).toEqual({ 'group cidExampleGroup002==': 'sent' });
    expect(statuses(m)).toEqual({ 'user user001': 'sent', 'user user003': 'sent', 'mobile 13800000003': 'resolved', 'group cidExampleGroup002==': 'sent' });
    const group = w.sim.messages().find((x) => x.to === 'cidExampleGroup002==' && x.msgKey === 'sampleActionCard2');
    expect(group?.msgParam).toMatchObject({ actionTitle1: '认领', actionTitle2: '查看详情' });
    expect(w.sim.messages()).toHaveLength(2 + 1 + 3);
  });

  it('a Chinese markdown body arrives byte-exact', async () => {
    // given
    const tenant = await w.aTenantWith({ groups: [{ openConversationId: 'cidCN==' }] });
    const markdown = '### 【P1】支付服务错误率 > 5%\n> 负责人：张三 👩‍💻\n\n| 指标 | 值 |\n|---|---|\n| 错误率 | 7.3% |\n\n"引号" \\ 反斜杠\t制表符';
    const msg = aNotify(tenant, { to: { userIds: ['user1'], openConversationIds: ['cidCN=='] }, message: { title: '【P1】支付服务', markdown } });
    // when
    await w.send(msg);
    await settled(tenant.tenantId, msg.id);
    // then
    const got = w.sim.messages();
    expect(got).toHaveLength(2);
    for (const m of got) {
      expect(Buffer.from(m.msgParam.text, 'utf8').equals(Buffer.from(markdown, 'utf8'))).toBe(true);
      expect(m.msgParam.title).toBe('【P1】支付服务');
    }
  });

  it('an oversized body is cut at a UTF-8 boundary and links to Flashduty, instead of failing', async () => {
    // given: ~60 KB of Chinese, four times what a group accepts
    const tenant = await w.aTenantWith({ groups: [{ openConversationId: 'cidBig==' }], tenant: { locale: 'en' } });
    const url = 'https://console.flashcat.cloud/incident/detail/6621';
    const markdown = '数据库连接池耗尽，订单服务超时。'.repeat(1300);
    const msg = aNotify(tenant, { to: { openConversationIds: ['cidBig=='], userIds: ['user1'] }, message: { title: '大告警', markdown, url } });
    // when
    await w.send(msg);
    const o = await settled(tenant.tenantId, msg.id);
    // then
    expect(statuses(o)).toEqual({ 'group cidBig==': 'sent', 'user user1': 'sent' });
    const sent = w.calls('groupSend')[0].body as { msgParam: string };
    expect(Buffer.byteLength(sent.msgParam, 'utf8')).toBeLessThanOrEqual(MAX_MSG_PARAM_BYTES);
    const text: string = JSON.parse(sent.msgParam).text;
    expect(text).not.toContain('\uFFFD');
    expect(text.endsWith(`[View in Flashduty](${url})`)).toBe(true); // the tenant's locale: en
    expect(markdown.startsWith(text.slice(0, text.indexOf('\n\n…')))).toBe(true);
  });

  it('a message that is not valid goes to the dead-letter queue with the reason, and is not retried', async () => {
    // given
    const tenant = await w.aTenantWith();
    await w.takeDeadLetters();
    // when
    await w.send({ ...aNotify(tenant), to: { userIds: [] } });
    await w.send({ ...aNotify(tenant), version: 2 });
    await w.send('not json at all');
    // then
    const dead: Array<{ reason: string }> = [];
    await w.until(async () => {
      dead.push(...(await w.takeDeadLetters()));
      return dead.length >= 3;
    });
    const reasons = dead.map((d) => d.reason).sort();
    expect(reasons).toEqual(
      ([
        'body is not JSON',
        'invalid message: to: at least one of userIds, mobiles, openConversationIds, memberIds must be non-empty',
        'unsupported version 2 (this sender reads version 1)',
      ]).sort(),
    );
    expect(w.sim.calls.filter((c) => c.api !== 'token')).toHaveLength(0);
  });

  it('war_room.create for a tenant without a war-room template is dead-lettered with the reason, no DingTalk call', async () => {
    // given
    const tenant = await w.aTenantWith();
    await w.takeDeadLetters();
    const msg = { version: 1, id: 'wr-1', tenantId: tenant.tenantId, kind: 'war_room.create', incident: { id: 'i-1', title: 'DB down' }, ownerMobile: '13800000001', memberMobiles: [] };
    // when
    await w.send(msg);
    // then
    const dead = await w.until(async () => {
      const d = await w.takeDeadLetters();
      return d.length ? d : undefined;
    });
    expect(dead).toEqual([{ body: JSON.stringify(msg), reason: expect.stringMatching(/^war_room\.create not enabled for tenant .*: warRoomTemplateId and warRoomBotId not set/), notifyId: 'wr-1' }]);
    expect(w.sim.calls).toHaveLength(0);
  });

  it('"npm run notify -- <file>" queues the file and prints its ids; then it is delivered', async () => {
    // given
    const tenant = await w.aTenantWith({ tenant: { tenantId: 'cli-tenant' }, users: [{ userId: 'user001' }, { userId: 'user002' }] });
    const msg = { ...fixture('notify-users.json'), tenantId: tenant.tenantId };
    const tmp = join(tmpdir(), `notify-cli-${Date.now()}.json`);
    writeFileSync(tmp, JSON.stringify(msg));
    const out: string[] = [];
    // when
    const code = await runNotifyCli([tmp], { sqs: w.sqs, out: (l) => out.push(l), err: (l) => out.push(l) });
    // then
    expect(code).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^queued notify ${msg.id} for tenant ${tenant.tenantId} \\(SQS MessageId [0-9a-f-]{36}\\)$`));
    const o = await settled(tenant.tenantId, msg.id);
    expect(statuses(o)).toEqual({ 'user user001': 'sent', 'user user002': 'sent' });

    // and "status" shows the outcome
    const shown: string[] = [];
    expect(await runNotifyCli(['status', tenant.tenantId, msg.id], { table: w.table, out: (l) => shown.push(l), err: (l) => shown.push(l) })).toBe(0);
    expect(JSON.parse(shown[0])).toMatchObject({ message: { state: 'done', id: msg.id }, recipients: expect.arrayContaining([expect.objectContaining({ to: 'user001', status: 'sent' })]) });
  });
});
