import { beginMessage } from '../delivery/begin';
import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { isAmbiguous, isRobotNotInGroup, type DingTalkResult } from '../dingtalk/errors';
import type { OutcomeStore } from '../delivery/outcomes';
import { CLAIM_LEASE_MS, decide, leaseLeftMs } from '../delivery/rule';
import { maskMobile } from '../util/mask';
import { NOT_STARTED, outOfTime, type DeliveryContext, type KindHandler } from '../delivery/types';
import { describe, statusOfFailure } from '../delivery/verdict';
import type { WarRoomCreateRequest } from '../contracts/notifyMessage';
import { claimWarRoomSummary, getWarRoom, recordWarRoom, recordWarRoomSummary, type SummaryStatus, type WarRoom } from '../store/warRooms';
import type { Tenant } from '../contracts/tenant';
import type { Locale } from '../i18n';
import { dismissedReason } from './disband';
import { planMembers } from './members';
import { addMissingMembers, recordMembers, resolveWarRoomMobile, resolveWarRoomMobiles, type WarRoomAttempt } from './roster';
import { WarRoomSession } from './session';
import { renderWarRoomSummary } from './summary';
import { Tally } from './tally';
import { clipWarRoomTitle } from './title';
import { warRoomUuid } from './uuid';
import { sendWarRoomCard } from '../cards/warRoomCard';

export interface WarRoomOptions {
  /** Waits between summary posts while the template's bot installs (default: setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  /** Between two summary posts while the bot is not in the group yet (default 1000 ms). */
  installRetryIntervalMs?: number;
  /** Summary posts per attempt while the bot is not in the group yet (default 10: ~10 s); then SQS brings the message back. */
  installRetryAttempts?: number;
}

/** The tenant fields a war room needs; the missing ones. */
export function missingWarRoomConfig(tenant: Pick<Tenant, 'warRoomTemplateId' | 'warRoomBotId'>): Array<'warRoomTemplateId' | 'warRoomBotId'> {
  return (['warRoomTemplateId', 'warRoomBotId'] as const).filter((k) => !tenant[k]);
}

/**
 * `war_room.create` for the sender (the `war_room.create` entry of its kind handlers):
 *
 * 1. the tenant needs `warRoomTemplateId` and `warRoomBotId`, else the message is dead-lettered
 *    with the reason before any DingTalk call;
 * 2. owner and member mobiles -> userIds (cached per organisation; an unknown owner is a permanent
 *    failure, unknown members are reported and left out);
 * 3. no war room recorded for the incident: `sceneGroup/create` from the template (title clipped
 *    to 30 code points, a uuid derived from tenant + incident so no retry makes a second group,
 *    the first 40 members), then recorded (lib/store/warRooms.ts) and its group item marked; a
 *    war room dismissed (`war_room.dismiss`) is not opened again: dead-lettered with the reason;
 * 4. members the war room lacks: `sceneGroup/member/add` in chunks (so a repeat request adds who
 *    is new, and > 40 members work);
 * 5. the incident summary, posted once per incident by the template's group bot (robotCode =
 *    `warRoomBotId`), retried every ~1 s for ~10 s while the template installs its bot.
 *
 * Every call goes through the sender's CallGate. A redelivery, or another message for the same
 * incident, finds the record: no second group, no second summary (unless the first never posted).
 *
 * @example
 * const sender = createSender({ table, sqs, client, dlqUrl, handlers: { 'war_room.create': createWarRoomHandler({ sleep }) } });
 */
export function createWarRoomHandler(opts: WarRoomOptions = {}): KindHandler<'war_room.create'> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const interval = opts.installRetryIntervalMs ?? 1000;
  const attempts = Math.max(1, opts.installRetryAttempts ?? 10);

  return async (ctx, msg) => {
    const { table, log } = ctx;
    const start = await beginMessage(ctx, msg, { batched: false });
    if ('verdict' in start) return start;
    const { tenant, outcomes, begun } = start;

    const missing = missingWarRoomConfig(tenant);
    if (missing.length) {
      const reason = `war_room.create not enabled for tenant ${tenant.tenantId}: ${missing.join(' and ')} not set (add the war-room template's Template ID and Bot ID to the tenant record)`;
      log.error('war_room.create for a tenant without a war-room template: dead-lettered', { missing });
      return { verdict: 'deadLetter', reason, counts: {} };
    }
    const templateId = tenant.warRoomTemplateId!;
    const botId = tenant.warRoomBotId!;
    const incidentId = msg.incident.id;
    const session = new WarRoomSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens, outOfTime: () => outOfTime(ctx) }, tenant, msg.severity);
    const snapshot = await outcomes.snapshot(begun);
    const tally = new Tally();
    const attempt: WarRoomAttempt = { ctx, session, outcomes, snapshot, tally, corpId: tenant.corpId };

    // 1. Mobiles -> userIds.
    const owner = await resolveWarRoomMobile(attempt, msg.ownerMobile);
    if (owner.unknown) {
      return tally.result({ verdict: 'deadLetter', reason: `the war room's owner (mobile ${maskMobile(msg.ownerMobile)}) is not a DingTalk user of this organisation: no war room created` });
    }
    if (!owner.userId) {
      const f = owner.failure!;
      return f.kind === 'permanent'
        ? tally.result({ verdict: 'deadLetter', reason: `the war room's owner (mobile ${maskMobile(msg.ownerMobile)}) could not be resolved: ${describe(f)}` })
        : tally.result();
    }
    const ownerUserId = owner.userId;
    const memberUserIds = await resolveWarRoomMobiles(attempt, msg.memberMobiles.filter((m) => m !== msg.ownerMobile));

    // 2. The war room: the recorded one, or a new scene group.
    let room = await getWarRoom(table, msg.tenantId, incidentId);
    if (!room) {
      const plan = planMembers(ownerUserId, memberUserIds);
      const title = clipWarRoomTitle(msg.incident.title);
      const uuid = warRoomUuid(msg.tenantId, incidentId);
      const r = await session.createSceneGroup({ title, template_id: templateId, owner_user_id: ownerUserId, user_ids: plan.initial, uuid });
      if (r.kind !== 'ok') {
        tally.note('warRoom', incidentId, statusOfFailure(r), `sceneGroup/create: ${describe(r)}`, r);
        log.warn('sceneGroup/create failed', { incidentId, kind: r.kind, code: r.code, requestId: r.requestId });
        return tally.result();
      }
      const recorded = await recordWarRoom(
        table,
        {
          tenantId: msg.tenantId,
          incidentId,
          openConversationId: r.data.openConversationId,
          ...(r.data.chatId ? { chatId: r.data.chatId } : {}),
          createdTitle: title,
          ...(msg.incident.url ? { incidentUrl: msg.incident.url } : {}),
          templateId,
          botId,
          ownerUserId,
          members: plan.initial,
          uuid,
          createdBy: msg.id,
        },
        ctx.now(),
      );
      room = recorded.room;
      if (recorded.created) {
        await recordMembers(outcomes, [ownerUserId, ...plan.initial], { status: 'sent', message: `added to war room ${room.openConversationId}` });
        for (const u of [ownerUserId, ...plan.initial]) tally.note('user', u, 'sent');
      }
      log.info(recorded.created ? 'war room created' : 'war room already recorded by another attempt', { incidentId, openConversationId: room.openConversationId, members: plan.initial.length + 1, requestId: r.requestId });
    } else if (room.dismissedAt) {
      return tally.result({ verdict: 'deadLetter', reason: dismissedReason(room) });
    } else {
      log.info('war room exists for the incident: no second group', { incidentId, openConversationId: room.openConversationId });
    }

    // 3. Members it lacks (more than the create took, or new in this request).
    await addMissingMembers(attempt, room, [ownerUserId, ...memberUserIds]);

    // 4. The incident summary, once per incident.
    // The bot the group was made with (the tenant may have changed its template since).
    const summarySent = await postSummary(ctx, { session, outcomes, tally, msg, room, botId: room.botId || botId, locale: tenant.locale, sleep, interval, attempts });
    // 5. The incident's card in the war room and on top of it (tenants with a cardTemplateId).
    if (summarySent) await sendWarRoomCard(ctx, { tenant, msg, outcomes, snapshot, cid: room.openConversationId, botId: room.botId || botId, note: (to, status, detail, f) => tally.note('card', to, status, detail, f) });
    return tally.result();
  };
}

interface SummaryDeps {
  session: WarRoomSession;
  outcomes: OutcomeStore;
  tally: Tally;
  msg: WarRoomCreateRequest;
  room: WarRoom;
  botId: string;
  /** The tenant's locale: the summary's language. */
  locale?: Locale;
  sleep: (ms: number) => Promise<void>;
  interval: number;
  attempts: number;
}

/**
 * Posts the summary unless it was posted (or is being posted) for the incident: claimed on the
 * war-room record before the send, its outcome written after. A claim held by a live attempt defers
 * the message until its lease ends; one left by an attempt that died mid-call is taken over and the
 * summary posted again, marked `possibleDuplicate` (docs/DESIGN.md, "The delivery rule"). True
 * when the summary is known to be posted (the template bot is then in the group).
 */
async function postSummary(ctx: DeliveryContext, d: SummaryDeps): Promise<boolean> {
  const { session, outcomes, tally, msg, room } = d;
  const log = ctx.log;
  const cid = room.openConversationId;
  const incidentId = msg.incident.id;
  const s = room.summary;
  const now = ctx.now();
  const decision = decide(s ? { status: s.status, claimedAt: s.claimedAt } : undefined, now);
  if (decision === 'skip') {
    tally.note('group', cid, s!.status, s!.status === 'sent' ? undefined : 'summary state unknown: not re-posted');
    log.info('war room summary already posted: not posted again', { incidentId, openConversationId: cid, by: s!.messageId });
    return s!.status === 'sent';
  }
  if (decision === 'inFlight') {
    tally.note('group', cid, 'inFlight', 'summary claimed by another attempt', { retryAfterMs: leaseLeftMs(s!, now) + 1000 });
    return false;
  }
  if (outOfTime(ctx)) {
    tally.note('group', cid, 'retry', NOT_STARTED);
    return false;
  }
  const attemptId = randomUUID();
  const takeOver = decision === 'orphaned' ? { takeOverBefore: now - CLAIM_LEASE_MS } : {};
  if (!(await claimWarRoomSummary(ctx.table, msg.tenantId, incidentId, attemptId, msg.id, now, takeOver))) {
    tally.note('group', cid, 'inFlight', 'summary claimed by another attempt', { retryAfterMs: CLAIM_LEASE_MS });
    return false;
  }
  const maybeDuplicate = decision === 'orphaned' || s?.possibleDuplicate === true;
  if (decision === 'orphaned') log.warn('orphaned war room summary claim: posting again (possible duplicate)', { incidentId, openConversationId: cid });

  const finish = async (status: SummaryStatus, fields: { code?: string; message?: string; requestId?: string; processQueryKey?: string; possibleDuplicate?: boolean }) => {
    const marked = maybeDuplicate || fields.possibleDuplicate ? { possibleDuplicate: true } : {};
    const kept = await recordWarRoomSummary(ctx.table, msg.tenantId, incidentId, attemptId, { status, messageId: msg.id, ...fields, ...marked }, ctx.now());
    if (!kept) log.error('war room summary claim lost before its outcome was written', { incidentId });
    await outcomes.record('group', cid, undefined, { status, ...fields });
  };

  let r: DingTalkResult<{ processQueryKey?: string }>;
  try {
    const rendered = renderWarRoomSummary(msg, d.locale);
    for (let i = 1; ; i++) {
      r = await session.botSend(d.botId, { openConversationId: cid, msgKey: rendered.msgKey, msgParam: rendered.msgParam });
      if (r.kind === 'ok' || !isRobotNotInGroup(r) || i >= d.attempts) break;
      log.info('the group bot is not in the war room yet (template installing): posting again shortly', { incidentId, attempt: i, code: r.code });
      await d.sleep(d.interval);
    }
  } catch (e) {
    // Nothing was posted for sure: give the claim back to a later attempt. If that write fails too,
    // the claim ends its lease and the next attempt takes it over.
    await finish('retry', { code: 'internal', message: (e as Error).message }).catch((release: unknown) =>
      log.error('could not give the summary claim back: it is taken over when its lease ends', { incidentId, error: release as Error }),
    );
    throw e;
  }
  if (r.kind === 'ok') {
    await finish('sent', { requestId: r.requestId, processQueryKey: r.data.processQueryKey });
    tally.note('group', cid, 'sent');
    if (maybeDuplicate) ctx.metrics?.addMetric('PossibleDuplicates', MetricUnit.Count, 1);
    log.info('war room summary posted', { incidentId, openConversationId: cid, robotCode: d.botId, requestId: r.requestId });
    return true;
  }
  // Still no bot after the retries: the template may be slow; SQS brings the message back.
  const status = isRobotNotInGroup(r) ? 'retry' : statusOfFailure(r);
  await finish(status, { code: r.code, message: r.message, requestId: r.requestId, ...(isAmbiguous(r) ? { possibleDuplicate: true } : {}) });
  tally.note('group', cid, status, `summary: ${describe(r)}`, r);
  log.warn('war room summary not posted', { incidentId, openConversationId: cid, kind: r.kind, code: r.code, requestId: r.requestId });
  return false;
}

/** The sender's default `war_room.create` handler. */
export const deliverWarRoom: KindHandler<'war_room.create'> = createWarRoomHandler();
