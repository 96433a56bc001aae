import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readOutcome } from '../../../lib/delivery/outcomes';
import { mintLinkUrl } from '../../../lib/links/token';
import { sendJson } from '../../../lib/queue/sqs';
import { getWarRoom } from '../../../lib/store/warRooms';
import { createTable, type Table } from '../../../lib/store/table';
import { putTenant } from '../../../lib/store/tenants';
import { startLocalStack, type LocalStack } from '../../../infra/local/stack';
import type { SimCard } from '../../../infra/local/dingtalkSimulator/types';
import { aTenant } from '../../support/factories';
import { statuses } from '../../support/world';

/**
 * Issue 16's "done when", end to end on the local stack (`npm start` in one process): the real
 * handlers behind the local HTTP API and pollers, DynamoDB Local, the SQS server, the DingTalk and
 * Flashduty simulators. Nothing is called directly but the simulators' user-side actions (a member
 * opening the link page, a responder pressing a button) and Flashduty's side (messages on the notify
 * queue, reading the outbound actions queue).
 */
describe('two-way on the local stack (issue 16)', () => {
  let stack: LocalStack;
  let table: Table;
  let sqs: SQSClient;
  const INCIDENT = '69da451ef77b1b51f40e83ee'; // Triggered in the Flashduty simulator's seed (account 2451002751131)
  const LINKED = '2476444212131';
  const UNLINKED = '2476444212132';
  const tenant = aTenant({
    tenantId: 'twoway', corpId: 'dingtwowaycorp', clientId: 'dingtwowayapp', locale: 'en', edition: 'professional',
    cardTemplateId: 'tpl.incident.schema', actionsVia: 'api', flashdutyAppKey: 'fd-local-app-key',
    warRoomTemplateId: 'tpl-warroom', warRoomBotId: 'dingwarroombot',
  });

  const until = async <T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const notify = (body: Record<string, unknown>) => sendJson(sqs, stack.env.NOTIFY_QUEUE_URL, { version: 1, tenantId: tenant.tenantId, ...body }, { groupId: tenant.tenantId });
  const cardIn = (spaceId: string): SimCard | undefined => stack.simulator!.cards().find((c) => c.spaces.some((s) => `${s.spaceType}.${s.spaceId}` === spaceId && s.success));
  const seen = (c: SimCard, userId: string) => stack.simulator!.cardSeenBy(c.outTrackId, userId)!;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, tableName: `twoway-${process.pid}`, envFile: join(mkdtempSync(join(tmpdir(), 'twoway-')), 'stack.env') });
    table = createTable(stack.env.TABLE_NAME);
    sqs = new SQSClient({});
    const sim = stack.simulator!;
    await putTenant(table, tenant);
    sim.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: 40, monthlyQuota: 500_000 });
    sim.addUser(tenant.corpId, { userId: 'responder', name: 'Zhang San', mobile: '13900000001' });
    sim.addUser(tenant.corpId, { userId: 'owner', name: 'Owner', mobile: '13900000002' });
    sim.addUser(tenant.corpId, { userId: 'stranger', name: 'Not Linked', mobile: '13900000003' });
    sim.addUser(tenant.corpId, { userId: 'newcomer', name: 'Late Joiner', mobile: '13900000004' });
    sim.addGroup(tenant.corpId, { openConversationId: 'cidOps==', robotCodes: [tenant.clientId], members: ['responder', 'stranger'] });
    sim.addCardTemplate(tenant.clientId, { templateId: 'tpl.incident.schema' });
    sim.addTemplate(tenant.corpId, { templateId: 'tpl-warroom', botId: 'dingwarroombot' });
  }, 120_000);
  afterAll(async () => {
    sqs?.destroy();
    await stack?.stop();
  });

  it('links a member, pages with buttons, acts once on Acknowledge, follows the incident, and runs the war room', async () => {
    const sim = stack.simulator!;
    const fd = stack.flashduty!;

    // A member opens their link page inside DingTalk: the page's script posts DingTalk's auth code.
    const { url } = await mintLinkUrl(table, { publicUrl: stack.env.PUBLIC_URL, tenantId: tenant.tenantId, memberId: LINKED, nowMs: Date.now() });
    const link = await fetch(url.split('?')[0], {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: sim.issueAuthCode(tenant.clientId, 'responder'), ...Object.fromEntries(new URL(url).searchParams) }),
    });
    expect(await link.json()).toEqual({ linked: true, name: 'Zhang San' });

    // A page about the incident, with buttons, to two members (one not linked) and a group.
    await notify({
      kind: 'notify', id: 'page-1', severity: 'critical',
      to: { memberIds: [LINKED, UNLINKED], openConversationIds: ['cidOps=='] },
      message: { title: 'CPU usage high - web-server-01', markdown: '### CPU usage high\nweb-server-01 at 97 %' },
      incident: { id: INCIDENT, status: 'triggered', url: 'https://console.flashcat.cloud/incident/detail/69da451ef77b1b51f40e83ee' },
      actions: ['ack', 'close', 'snooze'],
    });
    const dm = await until('the DM card', () => cardIn('IM_ROBOT.responder'));
    const group = await until('the group card', () => cardIn('IM_GROUP.cidOps=='));
    expect(seen(dm, 'responder')).toMatchObject({ title: 'CPU usage high - web-server-01', status: 'triggered', showAck: 'true', showClose: 'true', showSnooze: 'true' });
    const page = await until('the page settled', async () => {
      const o = await readOutcome(table, tenant.tenantId, 'page-1');
      return o.message?.state === 'done' && o;
    });
    // The unlinked member gets no DM and is reported, never dropped silently.
    expect(statuses(page)).toMatchObject({ [`member ${LINKED}`]: 'resolved', [`member ${UNLINKED}`]: 'unlinked', 'user responder': 'sent', 'group cidOps==': 'sent' });

    // The war room, with its card in the group and pinned on top.
    await notify({ kind: 'war_room.create', id: 'wr-1', incident: { id: INCIDENT, title: 'CPU usage high' }, ownerMobile: '13900000002', memberMobiles: ['13900000001'] });
    const room = await until('the war room', () => getWarRoom(table, tenant.tenantId, INCIDENT));
    const roomCard = await until('the war-room card', () => cardIn(`IM_GROUP.${room.openConversationId}`));
    expect(roomCard.spaces.map((s) => s.spaceType).sort()).toEqual(['IM_GROUP', 'ONE_BOX']);

    // A forged press and an unlinked presser change nothing.
    expect((await sim.pressButton({ outTrackId: dm.outTrackId, userId: 'responder', actionId: 'ack', params: { action: 'ack' }, badSignature: true })).status).toBe(401);
    const strangers = await sim.pressButton({ outTrackId: group.outTrackId, userId: 'stranger', actionId: 'ack', params: { action: 'ack' } });
    expect(strangers.status).toBe(200);
    expect(seen(group, 'stranger').notice).toMatch(/link/i);

    // Acknowledge, pressed once in the DM: exactly one action reaches Flashduty's API.
    const press = await sim.pressButton({ outTrackId: dm.outTrackId, userId: 'responder', actionId: 'ack', params: { action: 'ack' } });
    expect(press.status).toBe(200);
    expect(seen(dm, 'responder').notice).toBe('Acknowledging…');
    // The same request again (a replay) is refused.
    const replay = await fetch(press.url, { method: 'POST', headers: press.headers, body: JSON.stringify(press.body) });
    expect(replay.status).toBe(409);

    // Every card (DM, group, war room) shows the new status and who acted.
    for (const c of [dm, group, roomCard]) {
      await until(`card ${c.outTrackId} acknowledged`, () => seen(c, 'responder').statusText === 'Acknowledged by Zhang San');
    }
    expect(seen(dm, 'responder')).toMatchObject({ status: 'acknowledged', showAck: 'false', showClose: 'true' });
    // The presser's "Acknowledging…" is cleared once the card says what happened.
    expect(seen(dm, 'responder').notice).toBe('');
    expect(fd.actions().filter((a) => a.incidentIds.includes(INCIDENT))).toEqual([expect.objectContaining({ api: 'ack' })]);
    expect(fd.incident(2451002751131, INCIDENT)?.progress).toBe('Processing');

    // Flashduty closes the incident: incident.update updates the cards already sent.
    await notify({ kind: 'incident.update', id: 'upd-close', incident: { id: INCIDENT, status: 'closed' }, by: { name: 'Li Si' } });
    for (const c of [dm, group, roomCard]) {
      await until(`card ${c.outTrackId} closed`, () => seen(c, 'responder').statusText === 'Closed by Li Si');
    }
    expect(seen(dm, 'responder')).toMatchObject({ status: 'closed', showAck: 'false', showClose: 'false', showSnooze: 'false' });
    // A press on a closed incident is answered, and nothing more reaches Flashduty.
    const late = await sim.pressButton({ outTrackId: group.outTrackId, userId: 'responder', actionId: 'close', params: { action: 'close' } });
    expect(late.status).toBe(200);
    expect(seen(group, 'responder').notice).toMatch(/closed/i);
    // Nothing was queued for it: the actions queue is empty once the poller is idle, and Flashduty saw one action.
    await until('the actions queue empty', async () => {
      const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.env.ACTIONS_QUEUE_URL, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible) === 0;
    });
    expect(fd.actions().filter((a) => a.incidentIds.includes(INCIDENT))).toHaveLength(1);

    // The war room invites a new responder, then is dismissed.
    await notify({ kind: 'war_room.update', id: 'wr-up-1', incident: { id: INCIDENT }, memberMobiles: ['13900000004'] });
    await until('the newcomer in the war room', () => sim.group(tenant.corpId, room.openConversationId)?.members.includes('newcomer'));
    await notify({ kind: 'war_room.dismiss', id: 'wr-end-1', incident: { id: INCIDENT } });
    await until('the war room disbanded', () => sim.group(tenant.corpId, room.openConversationId)?.disbanded);
  }, 180_000);

  it('in queue mode a press puts exactly one action on the outbound queue, and Flashduty\'s incident.update moves the cards', async () => {
    const sim = stack.simulator!;
    const q = aTenant({ tenantId: 'twowayq', corpId: 'dingtwowayq', clientId: 'dingtwowayqapp', locale: 'en', cardTemplateId: 'tpl.q.schema' });
    await putTenant(table, q);
    sim.addApp({ clientId: q.clientId, clientSecret: q.clientSecret, corpId: q.corpId, qps: 20, monthlyQuota: 10_000 });
    sim.addUser(q.corpId, { userId: 'oncall', name: 'Wang Wu' });
    sim.addCardTemplate(q.clientId, { templateId: 'tpl.q.schema' });
    const { url } = await mintLinkUrl(table, { publicUrl: stack.env.PUBLIC_URL, tenantId: q.tenantId, memberId: '42', nowMs: Date.now() });
    const linked = await fetch(url.split('?')[0], { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: sim.issueAuthCode(q.clientId, 'oncall'), ...Object.fromEntries(new URL(url).searchParams) }) });
    expect(await linked.json()).toEqual({ linked: true, name: 'Wang Wu' });
    await sendJson(sqs, stack.env.NOTIFY_QUEUE_URL, {
      version: 1, tenantId: q.tenantId, kind: 'notify', id: 'q-page-1', to: { memberIds: ['42'] },
      message: { title: 'Disk almost full - db-01', markdown: 'db-01 at 93 %' }, incident: { id: 'inc-q-1', status: 'triggered' }, actions: ['ack', 'snooze'],
    }, { groupId: q.tenantId });
    const card = await until('the DM card', () => cardIn('IM_ROBOT.oncall'));

    const press = await sim.pressButton({ outTrackId: card.outTrackId, userId: 'oncall', actionId: 'snooze_240', params: { action: 'snooze', minutes: '240' } });
    expect(press.status).toBe(200);
    // Flashduty reads the outbound queue: the link, then the one action.
    const read: Array<Record<string, unknown>> = [];
    const readOutbound = async () => {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.env.FLASHDUTY_ACTIONS_QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of r.Messages ?? []) {
        read.push(JSON.parse(m.Body!));
        await sqs.send(new DeleteMessageCommand({ QueueUrl: stack.env.FLASHDUTY_ACTIONS_QUEUE_URL, ReceiptHandle: m.ReceiptHandle! }));
      }
      return r.Messages?.length ?? 0;
    };
    await until('the snooze on the outbound queue', async () => (await readOutbound(), read.some((m) => m.tenantId === q.tenantId && m.action === 'snooze')));
    // Once the actions poller is idle, a late second copy would be on the outbound queue by now.
    await until('the actions queue idle', async () => {
      const { Attributes: a = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.env.ACTIONS_QUEUE_URL, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible) === 0;
    });
    await readOutbound();
    const mine = read.filter((m) => m.tenantId === q.tenantId);
    expect(mine.map((m) => m.action).sort()).toEqual(['member.link', 'snooze']);
    expect(mine.find((m) => m.action === 'snooze')).toMatchObject({ version: 1, incidentId: 'inc-q-1', snoozeMinutes: 240, by: { dingtalkUserId: 'oncall', memberId: '42', name: 'Wang Wu' } });
    // Until Flashduty answers, the card is unchanged; its incident.update moves it.
    expect(seen(card, 'oncall').status).toBe('triggered');
    await sendJson(sqs, stack.env.NOTIFY_QUEUE_URL, {
      version: 1, tenantId: q.tenantId, kind: 'incident.update', id: 'q-upd-1', incident: { id: 'inc-q-1', status: 'snoozed' },
      by: { name: 'Wang Wu', memberId: '42' }, snoozedUntil: '2026-11-30T08:00:00Z',
    }, { groupId: q.tenantId });
    await until('the card snoozed', () => seen(card, 'oncall').status === 'snoozed');
    expect(seen(card, 'oncall').statusText).toContain('Wang Wu');
  }, 120_000);
});
