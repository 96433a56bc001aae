import type { NotifyRequest, IncidentUpdateRequest, WarRoomCreateRequest } from '../../../lib/contracts/notifyMessage';
import type { Tenant } from '../../../lib/contracts/tenant';
import { cardOutTrackId } from '../../../lib/cards/outTrackId';
import { DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { getCardSecret } from '../../../lib/store/cardSecret';
import { cardSecretKey } from '../../../lib/contracts/tableKeys';
import * as cardStore from '../../../lib/store/cards';
import { getCard, getIncidentState, listIncidentCards, recordCard } from '../../../lib/store/cards';
import { deliverIncidentUpdate } from '../../../lib/cards/incidentUpdate';
import { CardSession } from '../../../lib/cards/session';
import type { DeliveryContext } from '../../../lib/delivery/types';
import { AccessTokens } from '../../../lib/dingtalk/accessTokens';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import { logger } from '../../../lib/log';
import { withAppSecret } from '../../../lib/store/secrets';
import { getTenant } from '../../../lib/store/tenants';
import { aNotify, aRecordingGate, statuses, useWorld } from '../../support/world';

/**
 * Interactive cards on the real path (docs/two-way.md, "Cards", "incident.update"): the sender on
 * DynamoDB Local and the SQS server, the DingTalk simulator as DingTalk, with a card template
 * published for the tenant's app. Each test judges the bridge by what the simulator shows.
 */

const PUBLIC_URL = 'https://bridge.example.test';
const w = useWorld({ env: { PUBLIC_URL } });

const TEMPLATE = 'tplincidentcard';
const WAR_TEMPLATE = 'tpl-warroom-cards';
const BOT = 'dingwarroombotcards';
const GROUP = 'cidCardsOps==';
let seq = 0;

/** A tenant with a published card template (unless `card: false`), users u1-u3 and a group of u1, u2 with the app robot. */
async function aCardTenant(opts: { card?: boolean; tenant?: Partial<Tenant> } = {}): Promise<Tenant> {
  const people = [1, 2, 3].map((i) => ({ userId: `u${i}`, mobile: `1380000000${i}` }));
  const tenant = await w.aTenantWith({ users: people, tenant: { ...(opts.card === false ? {} : { cardTemplateId: TEMPLATE }), locale: 'en', ...opts.tenant } });
  w.sim.addCardTemplate(tenant.clientId, { templateId: TEMPLATE });
  w.sim.addGroup(tenant.corpId, { openConversationId: GROUP, robotCodes: [tenant.clientId], members: ['u1', 'u2'] });
  return tenant;
}

const incidentPage = (tenant: Tenant, over: Partial<NotifyRequest> = {}): NotifyRequest => {
  seq += 1;
  return aNotify(tenant, {
    to: { userIds: ['u1'], openConversationIds: [GROUP] },
    incident: { id: `inc-${seq}`, status: 'triggered', url: `https://console.flashcat.cloud/incident/${seq}` },
    actions: ['ack', 'close'],
    severity: 'critical',
    ...over,
  });
};

const anUpdate = (tenant: Tenant, incidentId: string, over: Partial<IncidentUpdateRequest> = {}): IncidentUpdateRequest => ({
  version: 1,
  id: `upd-${Date.now()}-${(seq += 1)}`,
  tenantId: tenant.tenantId,
  kind: 'incident.update',
  incident: { id: incidentId, status: 'acknowledged' },
  by: { name: '张三' },
  ...over,
});

/** A delivery context of another sender instance: its own DingTalk client and tokens, the same table and simulator, no lane. */
function anotherSender(): DeliveryContext {
  const { gate } = aRecordingGate();
  const client = new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl, timeoutMs: 1000 });
  const tokens = new AccessTokens({ table: w.table, client, gate, now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
  const getTenantOf = (id: string) => withAppSecret(w.table, id, (t) => getTenant(w.table, t));
  return { table: w.table, client, gate, tokens, now: Date.now, getTenant: getTenantOf, log: logger, concurrency: 4, publicUrl: PUBLIC_URL };
}

const dm = (tenant: Tenant, msg: NotifyRequest, user = 'u1') => cardOutTrackId(tenant.tenantId, msg.id, 'user', user);
const groupCard = (tenant: Tenant, msg: NotifyRequest) => cardOutTrackId(tenant.tenantId, msg.id, 'group', GROUP);

describe('a notify about an incident, for a tenant with a card template', () => {
  it('delivers one card per user and per group, with the buttons the message listed, and records them', async () => {
    const tenant = await aCardTenant();
    const msg = incidentPage(tenant);
    await w.send(msg);
    await w.deliver();

    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(o.message?.state).toBe('done');
    expect(statuses(o)).toEqual({ 'user u1': 'sent', [`group ${GROUP}`]: 'sent' });
    expect(w.calls('batchSend', tenant.clientId)).toEqual([]);
    expect(w.calls('groupSend', tenant.clientId)).toEqual([]);
    const creates = w.calls('cardCreateAndDeliver', tenant.clientId);
    expect(creates).toHaveLength(2);
    const { routeKey } = (await getCardSecret(w.table, tenant.tenantId))!;
    for (const c of creates) expect(c.body).toMatchObject({ cardTemplateId: TEMPLATE, callbackType: 'HTTP', callbackRouteKey: routeKey });

    const shown = { status: 'triggered', statusText: 'Triggered', showAck: 'true', showClose: 'true', showSnooze: 'false', title: msg.message.title, severity: 'critical', incidentUrl: msg.incident!.url };
    expect(w.sim.cardSeenBy(dm(tenant, msg), 'u1')).toMatchObject(shown);
    expect(w.sim.cardSeenBy(dm(tenant, msg), 'u2')).toBeUndefined();
    expect(w.sim.cardSeenBy(groupCard(tenant, msg), 'u2')).toMatchObject(shown);
    expect(w.sim.card(dm(tenant, msg))?.spaces).toEqual([expect.objectContaining({ spaceType: 'IM_ROBOT', spaceId: 'u1', success: true, robotCode: tenant.clientId })]);
    expect(w.sim.card(groupCard(tenant, msg))?.spaces).toEqual([expect.objectContaining({ spaceType: 'IM_GROUP', spaceId: GROUP, success: true, robotCode: tenant.clientId })]);

    const recorded = await getCard(w.table, tenant.tenantId, dm(tenant, msg));
    expect(recorded).toMatchObject({ incidentId: msg.incident!.id, space: 'user', to: 'u1', actions: ['ack', 'close'], messageId: msg.id });
    // (That it is recorded before the create: 'a card created while an incident.update runs ...' below.)
    expect((await listIncidentCards(w.table, tenant.tenantId, msg.incident!.id)).map((c) => c.space).sort()).toEqual(['group', 'user']);
  });

  it('an ambiguous answer (DingTalk created the card, then answered 500) and a redelivery never make a second card', async () => {
    const tenant = await aCardTenant();
    const msg = incidentPage(tenant, { to: { userIds: ['u1'] } });
    w.sim.inject({ api: 'cardCreateAndDeliver', kind: 'deliverThen5xx', count: 1 });
    await w.send(msg);
    await w.deliver();

    const creates = w.calls('cardCreateAndDeliver', tenant.clientId);
    expect(creates).toHaveLength(2);
    expect(creates[1].response).toMatchObject({ code: 'param.cardAlreadyExist' });
    expect(w.sim.cards().filter((c) => c.clientId === tenant.clientId)).toHaveLength(1);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(o.message?.state).toBe('done');
    expect(o.recipients).toEqual([expect.objectContaining({ channel: 'user', to: 'u1', status: 'sent', possibleDuplicate: true })]);

    await w.send(msg); // SQS delivers at least once
    await w.deliver();
    expect(w.calls('cardCreateAndDeliver', tenant.clientId)).toHaveLength(2);
    expect(w.sim.cards().filter((c) => c.clientId === tenant.clientId)).toHaveLength(1);
  });

  it('a space DingTalk did not deliver to (a user outside the organisation) fails permanently with its errorMsg', async () => {
    const tenant = await aCardTenant();
    const msg = incidentPage(tenant, { to: { userIds: ['u1', 'ghost'] } });
    await w.send(msg);
    await w.deliver();
    const dead = await w.takeDeadLetters();
    expect(dead).toEqual([expect.objectContaining({ notifyId: msg.id, reason: expect.stringMatching(/user ghost: card\.spaceFailed \(card not delivered to IM_ROBOT\.ghost: user not in the organisation\)/) })]);
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'user u1': 'sent', 'user ghost': 'failed' });
  });

  it('clips a value over 1 KB (by bytes, between characters) so DingTalk takes the card', async () => {
    const tenant = await aCardTenant();
    const markdown = `${'告警'.repeat(1000)}`;
    const msg = incidentPage(tenant, { to: { userIds: ['u2'] }, message: { title: 'long', markdown } });
    await w.send(msg);
    await w.deliver();
    expect((await w.outcome(tenant.tenantId, msg.id)).message?.state).toBe('done');
    const shown = w.sim.cardSeenBy(dm(tenant, msg, 'u2'), 'u2')!;
    expect(Buffer.byteLength(shown.markdown)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(shown.markdown)).toBeGreaterThan(1000);
    expect(shown.markdown.endsWith('…')).toBe(true);
    expect(markdown.startsWith(shown.markdown.slice(0, -1))).toBe(true);
  });

  it('registers the callback route once, under a key of this deployment\'s own, with the apiSecret it stored, whatever the number of cards', async () => {
    const tenant = await aCardTenant();
    await w.send(incidentPage(tenant));
    await w.send(incidentPage(tenant, { to: { userIds: ['u2'] } }));
    await w.deliver();
    await w.send(incidentPage(tenant, { to: { userIds: ['u3'] } }));
    await w.deliver();

    expect(w.calls('cardCreateAndDeliver', tenant.clientId)).toHaveLength(4);
    const registers = w.calls('cardCallbackRegister', tenant.clientId);
    expect(registers).toHaveLength(1);
    const secret = await getCardSecret(w.table, tenant.tenantId);
    // The random part: a staging or local deployment with the same app and tenant id has another key and never takes this one's URL.
    expect(secret).toEqual({ apiSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), routeKey: expect.stringMatching(new RegExp(`^dtb-${tenant.tenantId}-[0-9a-f]{8}$`)), callbackUrl: `${PUBLIC_URL}/card/${tenant.tenantId}`, registeredAt: expect.any(String) });
    expect(registers[0].body).toEqual({ callbackRouteKey: secret!.routeKey, callbackUrl: secret!.callbackUrl, apiSecret: secret!.apiSecret, forceUpdate: true });
    for (const c of w.calls('cardCreateAndDeliver', tenant.clientId)) expect(c.body).toMatchObject({ callbackRouteKey: secret!.routeKey });
  });

  it('a tenant deleted and added again (its card secret gone) is registered again before its next card, in the same process', async () => {
    const tenant = await aCardTenant();
    await w.send(incidentPage(tenant, { to: { userIds: ['u1'] } }));
    await w.deliver();
    const before = (await getCardSecret(w.table, tenant.tenantId))!;
    await w.table.doc.send(new DeleteCommand({ TableName: w.table.name, Key: cardSecretKey(tenant.tenantId) })); // what a tenant delete leaves

    const msg = incidentPage(tenant, { to: { userIds: ['u2'] } });
    await w.send(msg);
    await w.deliver();
    const after = (await getCardSecret(w.table, tenant.tenantId))!;
    expect(after).toMatchObject({ registeredAt: expect.any(String) });
    expect(after.apiSecret).not.toBe(before.apiSecret);
    expect(after.routeKey).not.toBe(before.routeKey);
    expect(w.calls('cardCallbackRegister', tenant.clientId).map((c) => (c.body as { callbackRouteKey: string }).callbackRouteKey)).toEqual([before.routeKey, after.routeKey]);
    expect(w.calls('cardCreateAndDeliver', tenant.clientId).at(-1)?.body).toMatchObject({ outTrackId: dm(tenant, msg, 'u2'), callbackRouteKey: after.routeKey });
  });

  it('a create DingTalk refused (template unpublished) leaves no card record: a later incident.update spends no call on it; a redrive records it again', async () => {
    const tenant = await aCardTenant();
    w.sim.addCardTemplate(tenant.clientId, { templateId: TEMPLATE, published: false });
    const msg = incidentPage(tenant, { to: { userIds: ['u1'] } });
    await w.send(msg);
    await w.deliver();
    expect(await w.takeDeadLetters()).toEqual([expect.objectContaining({ notifyId: msg.id, reason: expect.stringContaining('param.templateUnpublished') })]);
    expect(await listIncidentCards(w.table, tenant.tenantId, msg.incident!.id)).toEqual([]);
    expect(await getCard(w.table, tenant.tenantId, dm(tenant, msg))).toBeUndefined();

    const update = anUpdate(tenant, msg.incident!.id);
    await w.send(update);
    await w.deliver();
    expect((await w.outcome(tenant.tenantId, update.id)).message?.state).toBe('done');
    expect(w.calls('cardUpdate', tenant.clientId)).toEqual([]);
    expect(await w.takeDeadLetters()).toEqual([]);

    w.sim.addCardTemplate(tenant.clientId, { templateId: TEMPLATE }); // published now: the dead letter is redriven
    await w.send(msg);
    await w.deliver();
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'user u1': 'sent' });
    expect((await listIncidentCards(w.table, tenant.tenantId, msg.incident!.id)).map((c) => c.outTrackId)).toEqual([dm(tenant, msg)]);
    expect(w.sim.cardSeenBy(dm(tenant, msg), 'u1')).toMatchObject({ status: 'acknowledged', statusText: 'Acknowledged by 张三' });
  });

  it('a card created while an incident.update runs starts from that update: the card is recorded first, the state read after', async () => {
    const tenant = await aCardTenant();
    const msg = incidentPage(tenant, { to: { userIds: ['u1'] } });
    const update = anUpdate(tenant, msg.incident!.id);
    const realRecord = cardStore.recordCard;
    // Another sender instance (a drain page in flight) runs the update to its end just as the card is about to be recorded: it finds no card to PUT.
    let concurrent: unknown;
    const spy = jest.spyOn(cardStore, 'recordCard').mockImplementationOnce(async (...args) => {
      concurrent = await deliverIncidentUpdate(anotherSender(), update);
      return realRecord(...args);
    });
    try {
      await w.send(msg);
      await w.deliver();
    } finally {
      spy.mockRestore();
    }
    expect(concurrent).toMatchObject({ verdict: 'done' });
    expect(w.calls('cardUpdate', tenant.clientId)).toEqual([]);
    expect(w.sim.cardSeenBy(dm(tenant, msg), 'u1')).toMatchObject({ status: 'acknowledged', statusText: 'Acknowledged by 张三', showAck: 'false' });
  });

  it('without a cardTemplateId the page is the static action card it was, and its status says why: no card, no card record', async () => {
    const tenant = await aCardTenant({ card: false });
    const msg = incidentPage(tenant, { message: { title: 'DB down', markdown: '## DB down', url: 'https://console.flashcat.cloud/incident/9' } });
    await w.send(msg);
    await w.deliver();
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(statuses(o)).toEqual({ 'user u1': 'sent', [`group ${GROUP}`]: 'sent' });
    expect(o.message).toMatchObject({ state: 'done', reason: expect.stringContaining('static action card: the tenant has no cardTemplateId') });
    expect(w.calls('cardCreateAndDeliver', tenant.clientId)).toEqual([]);
    expect(w.calls('cardCallbackRegister', tenant.clientId)).toEqual([]);
    expect(w.calls('batchSend', tenant.clientId).map((c) => (c.body as { msgKey: string }).msgKey)).toEqual(['sampleActionCard']);
    expect(await listIncidentCards(w.table, tenant.tenantId, msg.incident!.id)).toEqual([]);
  });
});

describe('incident.update', () => {
  /** A tenant with cards and a war-room template; a war room and a page (DM and group) for one incident. */
  async function anIncidentWithCards() {
    const tenant = await aCardTenant({ tenant: { warRoomTemplateId: WAR_TEMPLATE, warRoomBotId: BOT } });
    w.sim.addTemplate(tenant.corpId, { templateId: WAR_TEMPLATE, botId: BOT, installDelayMs: 0 });
    const page = incidentPage(tenant, { actions: ['ack', 'close', 'snooze'] });
    const room: WarRoomCreateRequest = {
      version: 1,
      id: `wr-${Date.now()}-${(seq += 1)}`,
      tenantId: tenant.tenantId,
      kind: 'war_room.create',
      incident: { id: page.incident!.id, title: '[P1] DB down', url: page.incident!.url },
      ownerMobile: '13800000001',
      memberMobiles: ['13800000003'],
    };
    await w.send(room);
    await w.deliver();
    await w.send(page);
    await w.deliver();
    const cards = await listIncidentCards(w.table, tenant.tenantId, page.incident!.id);
    return { tenant, page, room, cards };
  }

  it('war_room.create sends the incident card into the war room and as its top card, once per war room', async () => {
    const { tenant, room, cards } = await anIncidentWithCards();
    expect((await w.outcome(tenant.tenantId, room.id)).message?.state).toBe('done');
    const war = cards.find((c) => c.space === 'warRoom')!;
    const cid = w.sim.groupsCreated().find((g) => g.templateId === WAR_TEMPLATE)?.openConversationId;
    expect(war).toMatchObject({ to: cid, messageId: room.id, actions: ['ack', 'close', 'snooze'] });
    const card = w.sim.card(war.outTrackId)!;
    expect(card.spaces).toEqual([
      expect.objectContaining({ spaceType: 'IM_GROUP', spaceId: cid, success: true, robotCode: BOT }),
      expect.objectContaining({ spaceType: 'ONE_BOX', spaceId: cid, success: true, expiresAt: expect.any(Number) }),
    ]);
    const days = (card.spaces[1].expiresAt! - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    expect(w.sim.cardSeenBy(war.outTrackId, 'u3')).toMatchObject({ title: '[P1] DB down', status: 'triggered', showAck: 'true', showSnooze: 'true' });

    await w.send({ ...room, id: `${room.id}-again` }); // another request for the same incident
    await w.deliver();
    expect(w.sim.cards().filter((c) => c.clientId === tenant.clientId && c.spaces.some((s) => s.spaceType === 'ONE_BOX'))).toHaveLength(1);
  });

  it('changes every card of the incident (DM, group, war room); a retry updates only the cards not yet updated', async () => {
    const { tenant, page, cards } = await anIncidentWithCards();
    expect(cards.map((c) => c.space).sort()).toEqual(['group', 'user', 'warRoom']);
    const update = anUpdate(tenant, page.incident!.id);
    w.sim.inject({ api: 'cardUpdate', kind: '5xx', count: 1 });
    await w.send(update);
    await w.deliver();

    const o = await w.outcome(tenant.tenantId, update.id);
    expect(o.message).toMatchObject({ state: 'done', retries: 1 });
    expect(o.recipients.map((r) => [r.channel, r.status])).toEqual([['card', 'sent'], ['card', 'sent'], ['card', 'sent']]);
    expect(w.calls('cardUpdate', tenant.clientId)).toHaveLength(4);
    for (const c of cards) {
      expect([c.space, w.sim.card(c.outTrackId)?.updates]).toEqual([c.space, 1]);
      expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'acknowledged', statusText: 'Acknowledged by 张三', showAck: 'false', showClose: 'true' });
    }
    expect(w.sim.cardSeenBy(cards.find((c) => c.space === 'user')!.outTrackId, 'u1')).toMatchObject({ title: page.message.title }); // merged by key
    expect(await getIncidentState(w.table, tenant.tenantId, page.incident!.id)).toMatchObject({ status: 'acknowledged', byName: '张三' });

    const closed = anUpdate(tenant, page.incident!.id, { incident: { id: page.incident!.id, status: 'closed' }, by: { name: '李四' } });
    await w.send(closed);
    await w.deliver();
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'closed', statusText: 'Closed by 李四', showAck: 'false', showClose: 'false', showSnooze: 'false' });
  });

  it('an incident without cards: its state is recorded, the message done; a card sent later starts from it', async () => {
    const tenant = await aCardTenant();
    const update = anUpdate(tenant, 'inc-later', { incident: { id: 'inc-later', status: 'snoozed' }, snoozedUntil: '2026-12-01T04:00:00Z', by: { name: 'Ann' } });
    await w.send(update);
    await w.deliver();
    expect((await w.outcome(tenant.tenantId, update.id)).message?.state).toBe('done');
    expect(w.calls('cardUpdate', tenant.clientId)).toEqual([]);

    const msg = incidentPage(tenant, { to: { userIds: ['u1'] }, incident: { id: 'inc-later', status: 'triggered' }, actions: ['ack', 'snooze', 'close'] });
    await w.send(msg);
    await w.deliver();
    expect(w.sim.cardSeenBy(dm(tenant, msg), 'u1')).toMatchObject({ status: 'snoozed', statusText: 'Snoozed until 2026-12-01 12:00 (UTC+8) by Ann', showAck: 'false', showSnooze: 'true', showClose: 'true' });
  });

  it('updates apply in the order of their `at`: an older one arriving late changes nothing and PUTs no card', async () => {
    const { tenant, page, cards } = await anIncidentWithCards();
    const id = page.incident!.id;
    const t0 = Date.now();
    const closed = anUpdate(tenant, id, { incident: { id, status: 'closed' }, by: { name: '李四' }, at: new Date(t0).toISOString() });
    await w.send(closed);
    await w.deliver();
    const puts = w.calls('cardUpdate', tenant.clientId).length;
    expect(puts).toBe(cards.length);

    const late = anUpdate(tenant, id, { at: new Date(t0 - 60_000).toISOString() }); // acknowledged a minute before the close
    await w.send(late);
    await w.deliver();
    expect((await w.outcome(tenant.tenantId, late.id)).message?.state).toBe('done');
    expect(w.calls('cardUpdate', tenant.clientId)).toHaveLength(puts);
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'closed', statusText: 'Closed by 李四' });
    expect(await getIncidentState(w.table, tenant.tenantId, id)).toMatchObject({ status: 'closed', byName: '李四', at: t0 });
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('a retry of an older update, after a newer one went through, never puts a card back to the older status', async () => {
    const { tenant, page, cards } = await anIncidentWithCards();
    const id = page.incident!.id;
    const t0 = Date.now();
    const ack = anUpdate(tenant, id, { at: new Date(t0 - 60_000).toISOString() });
    const closed = anUpdate(tenant, id, { incident: { id, status: 'closed' }, by: { name: '李四' }, at: new Date(t0).toISOString() });
    w.sim.inject({ api: 'cardUpdate', kind: '5xx', count: 1 }); // one card of the ack is left for its retry
    await w.send(ack);
    const first = await w.until(async () => {
      const r = await w.receive();
      return r.length ? r : undefined;
    });
    expect(await w.invoke(first)).toEqual([first[0].messageId]);
    await w.send(closed);
    const waiting = new Map<string, (typeof first)[number]>();
    await w.until(async () => {
      for (const r of await w.receive()) waiting.set((JSON.parse(r.body) as { id: string }).id, r);
      return waiting.has(ack.id) && waiting.has(closed.id) ? true : undefined;
    });
    expect(await w.invoke([waiting.get(closed.id)!])).toEqual([]); // the close first
    expect(await w.invoke([waiting.get(ack.id)!])).toEqual([]); // then the ack's retry: superseded, done
    expect((await w.outcome(tenant.tenantId, ack.id)).message?.state).toBe('done');
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'closed', statusText: 'Closed by 李四', showClose: 'false' });
    expect(await getIncidentState(w.table, tenant.tenantId, id)).toMatchObject({ status: 'closed', at: t0 });
  });

  it('a newer update that runs while an older one is putting its cards: every card ends with the newer status', async () => {
    const { tenant, page, cards } = await anIncidentWithCards();
    const id = page.incident!.id;
    const t0 = Date.now();
    const ack = anUpdate(tenant, id, { at: new Date(t0 - 60_000).toISOString() });
    const closed = anUpdate(tenant, id, { incident: { id, status: 'closed' }, by: { name: '李四' }, at: new Date(t0).toISOString() });
    const realUpdate = CardSession.prototype.update;
    let concurrent: unknown;
    // The close runs to its end (another sender instance) just before the ack's first PUT goes out: the ack's PUTs land after the close's.
    const spy = jest.spyOn(CardSession.prototype, 'update').mockImplementationOnce(async function (this: CardSession, req) {
      concurrent = await deliverIncidentUpdate(anotherSender(), closed);
      return realUpdate.call(this, req);
    });
    try {
      await w.send(ack);
      await w.deliver();
    } finally {
      spy.mockRestore();
    }
    expect(concurrent).toMatchObject({ verdict: 'done' });
    expect((await w.outcome(tenant.tenantId, ack.id)).message?.state).toBe('done');
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'closed', statusText: 'Closed by 李四' });
  });

  it('clears the private notice of the user who acted; a `by.dingtalkUserId` DingTalk does not know still updates the cards', async () => {
    const { tenant, page, cards } = await anIncidentWithCards();
    const id = page.incident!.id;
    await w.send(anUpdate(tenant, id, { by: { name: '张三', dingtalkUserId: 'u1' } }));
    await w.deliver();
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'acknowledged', notice: '' });
    const closed = anUpdate(tenant, id, { incident: { id, status: 'closed' }, by: { name: 'Ghost', dingtalkUserId: 'nobody-here' } });
    await w.send(closed);
    await w.deliver();
    expect(statuses(await w.outcome(tenant.tenantId, closed.id))).toEqual(Object.fromEntries(cards.map((c) => [`card ${c.outTrackId}`, 'sent'])));
    // Each card was refused once for the unknown user, then put without the private data.
    expect(w.calls('cardUpdate', tenant.clientId).filter((c) => c.code === 'param.userIdNotExist')).toHaveLength(cards.length);
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'closed' });
  });

  it('two updates of the same moment: the later status wins whichever runs last (acknowledged then snoozed ends snoozed)', async () => {
    const { tenant, page, cards } = await anIncidentWithCards();
    const id = page.incident!.id;
    const at = new Date().toISOString();
    const snoozed = anUpdate(tenant, id, { incident: { id, status: 'snoozed' }, at, snoozedUntil: '2026-11-30T09:00:00Z' });
    const ack = anUpdate(tenant, id, { at });
    await w.send(ack);
    await w.deliver();
    await w.send(snoozed);
    await w.deliver();
    expect(await getIncidentState(w.table, tenant.tenantId, id)).toMatchObject({ status: 'snoozed' });
    await w.send({ ...ack, id: `${ack.id}-again` }); // and the acknowledgement of that moment once more: no step back
    await w.deliver();
    expect(await getIncidentState(w.table, tenant.tenantId, id)).toMatchObject({ status: 'snoozed' });
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'snoozed' });
  });

  it('an older update whose catch-up put fails comes back, and its retry puts that card again with the newer status', async () => {
    const { tenant, page, cards } = await anIncidentWithCards();
    const id = page.incident!.id;
    const t0 = Date.now();
    const ack = anUpdate(tenant, id, { at: new Date(t0 - 60_000).toISOString() });
    const closed = anUpdate(tenant, id, { incident: { id, status: 'closed' }, by: { name: '李四' }, at: new Date(t0).toISOString() });
    const realUpdate = CardSession.prototype.update;
    let ackCalls = 0;
    let closing = false;
    // The close runs to its end just before the ack's first PUT; then the ack's first catch-up PUT fails.
    const spy = jest.spyOn(CardSession.prototype, 'update').mockImplementation(async function (this: CardSession, req) {
      if (closing) return realUpdate.call(this, req);
      ackCalls += 1;
      if (ackCalls === 1) {
        closing = true;
        await deliverIncidentUpdate(anotherSender(), closed);
        closing = false;
      }
      if (ackCalls === cards.length + 1) return { kind: 'retryable', code: '5xx', message: 'injected', status: 500, cause: 'server' } as never;
      return realUpdate.call(this, req);
    });
    let first: string[];
    try {
      await w.send(ack);
      const records = await w.until(async () => {
        const r = await w.receive();
        return r.length ? r : undefined;
      });
      first = await w.invoke(records);
    } finally {
      spy.mockRestore();
    }
    expect(first).toHaveLength(1); // back for the card not yet put again
    await w.deliver();
    expect((await w.outcome(tenant.tenantId, ack.id)).message?.state).toBe('done');
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'closed', statusText: 'Closed by 李四' });
  });

  it('an update without `at` sent again after a newer one (a redrive, an unpark) keeps its first time: the cards stay on the newer status', async () => {
    const { tenant, page, cards } = await anIncidentWithCards();
    const id = page.incident!.id;
    const ack = anUpdate(tenant, id);
    await w.send(ack);
    await w.deliver();
    await w.send(anUpdate(tenant, id, { incident: { id, status: 'closed' }, by: { name: '李四' } }));
    await w.deliver();
    await w.send(ack); // the same message again, as a redrive or an unpark sends it: later on the queue than the close
    await w.deliver();
    expect(await getIncidentState(w.table, tenant.tenantId, id)).toMatchObject({ status: 'closed' });
    for (const c of cards) expect(w.sim.cardSeenBy(c.outTrackId, 'u1')).toMatchObject({ status: 'closed' });
  });

  it('a card listed but no longer recorded (its create refused, its records deleted meanwhile) that DingTalk does not know is no failure', async () => {
    const tenant = await aCardTenant();
    const old = Date.now() - 10 * 60_000;
    const outTrackId = cardOutTrackId(tenant.tenantId, 'refused-page', 'user', 'u1');
    const listed: cardStore.CardRecord = { tenantId: tenant.tenantId, incidentId: 'inc-refused', outTrackId, space: 'user', to: 'u1', actions: ['ack'], messageId: 'refused-page', createdAt: new Date(old).toISOString() };
    const spy = jest.spyOn(cardStore, 'listIncidentCards').mockResolvedValueOnce([listed]); // listed just before its records were deleted
    const update = anUpdate(tenant, 'inc-refused');
    try {
      await w.send(update);
      await w.deliver();
    } finally {
      spy.mockRestore();
    }
    expect(await w.takeDeadLetters()).toEqual([]);
    const o = await w.outcome(tenant.tenantId, update.id);
    expect(o.message?.state).toBe('done');
    expect(o.recipients).toEqual([expect.objectContaining({ channel: 'card', to: outTrackId, status: 'notCreated', code: 'param.cardNotExist' })]);
  });

  it('war_room.create for an incident id over 64 characters: the war room, without its card (no update or press could name the incident)', async () => {
    const tenant = await aCardTenant({ tenant: { warRoomTemplateId: WAR_TEMPLATE, warRoomBotId: BOT } });
    w.sim.addTemplate(tenant.corpId, { templateId: WAR_TEMPLATE, botId: BOT, installDelayMs: 0 });
    const incidentId = `inc-long-${(seq += 1)}-${'x'.repeat(64)}`;
    const room: WarRoomCreateRequest = {
      version: 1,
      id: `wr-long-${Date.now()}-${seq}`,
      tenantId: tenant.tenantId,
      kind: 'war_room.create',
      incident: { id: incidentId, title: '[P1] DB down' },
      ownerMobile: '13800000001',
      memberMobiles: ['13800000003'],
    };
    await w.send(room);
    await w.deliver();
    expect((await w.outcome(tenant.tenantId, room.id)).message?.state).toBe('done');
    expect(w.sim.groupsCreated().filter((g) => g.templateId === WAR_TEMPLATE)).toHaveLength(1);
    expect(w.calls('cardCreateAndDeliver', tenant.clientId)).toEqual([]);
    expect(w.calls('cardCreateAndDeliver', BOT)).toEqual([]);
    expect(await listIncidentCards(w.table, tenant.tenantId, incidentId)).toEqual([]);
  });

  it('a card recorded long ago whose create never delivered (its page gave up after a throttled create) is no failure of a later update', async () => {
    const tenant = await aCardTenant();
    const msg = incidentPage(tenant, { to: { userIds: ['u1'] } });
    w.sim.inject({ api: 'cardCreateAndDeliver', kind: 'qps', count: 1 });
    await w.send(msg);
    const [record] = await w.until(async () => {
      const r = await w.receive();
      return r.length ? r : undefined;
    });
    expect(await w.invoke([record])).toEqual([record.messageId]); // throttled: back to the queue for a retry
    await w.sqs.send(new DeleteMessageCommand({ QueueUrl: w.aws.notifyQueueUrl, ReceiptHandle: record.receiptHandle })); // the page is given up
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toEqual({ 'user u1': 'retry' });
    const [card] = await listIncidentCards(w.table, tenant.tenantId, msg.incident!.id);
    const old = Date.now() - 10 * 60_000;
    await recordCard(w.table, { ...card, createdAt: new Date(old).toISOString() }, old); // as if long ago: no create can still be under way

    const update = anUpdate(tenant, msg.incident!.id);
    await w.send(update);
    await w.deliver();
    expect(await w.takeDeadLetters()).toEqual([]);
    const o = await w.outcome(tenant.tenantId, update.id);
    expect(o.message?.state).toBe('done');
    expect(o.recipients).toEqual([expect.objectContaining({ channel: 'card', to: card.outTrackId, status: 'notCreated', code: 'param.cardNotExist' })]);
  });

  it('a card DingTalk does not know (param.cardNotExist) fails that card: the update is dead-lettered with the reason', async () => {
    const tenant = await aCardTenant();
    const old = Date.now() - 10 * 60_000; // recorded long ago: no create of it can still be under way
    const outTrackId = cardOutTrackId(tenant.tenantId, 'gone-page', 'user', 'u1');
    await recordCard(w.table, { tenantId: tenant.tenantId, incidentId: 'inc-gone', outTrackId, space: 'user', to: 'u1', actions: ['ack'], messageId: 'gone-page', createdAt: new Date(old).toISOString() }, old);
    const update = anUpdate(tenant, 'inc-gone');
    await w.send(update);
    await w.deliver();
    expect(await w.takeDeadLetters()).toEqual([expect.objectContaining({ notifyId: update.id, reason: expect.stringContaining(`card user u1: param.cardNotExist`) })]);
    expect((await w.outcome(tenant.tenantId, update.id)).recipients).toEqual([expect.objectContaining({ channel: 'card', to: outTrackId, status: 'failed', code: 'param.cardNotExist' })]);
    expect(w.calls('cardUpdate', tenant.clientId)).toHaveLength(1);
  });

  it('a card recorded moments ago that DingTalk does not know yet is retried, not failed: its create may be under way', async () => {
    const tenant = await aCardTenant();
    const outTrackId = cardOutTrackId(tenant.tenantId, 'racing-page', 'user', 'u1');
    await recordCard(w.table, { tenantId: tenant.tenantId, incidentId: 'inc-racing', outTrackId, space: 'user', to: 'u1', actions: ['ack'], messageId: 'racing-page', createdAt: new Date().toISOString() }, Date.now());
    const update = anUpdate(tenant, 'inc-racing');
    await w.send(update);
    const records = await w.until(async () => {
      const r = await w.receive();
      return r.length ? r : undefined;
    });
    expect(await w.invoke(records)).toEqual([records[0].messageId]); // back to the queue
    const o = await w.outcome(tenant.tenantId, update.id);
    expect(o.message?.state).toBe('retrying');
    expect(o.recipients).toEqual([expect.objectContaining({ channel: 'card', to: outTrackId, status: 'retry', code: 'param.cardNotExist' })]);
  });
});
