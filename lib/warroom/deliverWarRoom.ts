import { createHash, randomUUID } from 'node:crypto';
import { NO_SUCH_MOBILE } from '../dingtalk/client';
import { isRobotNotInGroup, type DingTalkFailure, type DingTalkResult } from '../dingtalk/errors';
import { decide, Outcomes, recipientKey, type Channel, type RecipientOutcome, type RecipientStatus } from '../delivery/outcomes';
import { dedupe, maskMobile } from '../delivery/recipients';
import type { DeliveryContext, DeliveryResult, KindHandler } from '../delivery/sender';
import type { WarRoomCreateRequest } from '../notify/contract';
import { getCachedMobile, putCachedMobile } from '../store/mobiles';
import { addWarRoomMembers, claimWarRoomSummary, getWarRoom, recordWarRoom, recordWarRoomSummary, type SummaryStatus, type WarRoom } from '../store/warRooms';
import type { Tenant } from '../tenant/schema';
import { missingMembers, planMembers } from './members';
import { WarRoomSession } from './session';
import { renderWarRoomSummary } from './summary';
import { clipWarRoomTitle } from './title';
import { warRoomUuid } from './uuid';

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

type Line = [who: string, status: RecipientStatus | 'inFlight', detail?: string];

/**
 * What an attempt did, by recipient, and its verdict with the sender's rule (`verdictOf` in
 * lib/delivery/sender.ts, mirrored here to keep lib/warroom free of an import cycle with it):
 * retryable -> retry; else rate-limit deferred -> defer; else quota -> park; else permanent -> dead letter; else done.
 */
class Tally {
  private readonly lines = new Map<string, Line>();
  private deferMs = 0;

  note(channel: Channel | 'warRoom', to: string, status: Line[1], detail?: string, failure?: DingTalkFailure): void {
    this.lines.set(`${channel}#${to}`, [`${channel} ${channel === 'mobile' ? maskMobile(to) : to}`, status, detail]);
    if (status === 'deferred') this.deferMs = Math.max(this.deferMs, failure?.retryAfterMs ?? 0);
  }

  result(over?: Pick<DeliveryResult, 'verdict' | 'reason'>): DeliveryResult {
    const counts: DeliveryResult['counts'] = {};
    const retry: string[] = [];
    const quota: string[] = [];
    const failed: string[] = [];
    let deferred = 0;
    for (const [who, status, detail] of this.lines.values()) {
      counts[status] = (counts[status] ?? 0) + 1;
      const line = detail ? `${who}: ${detail}` : who;
      if (status === 'retry' || status === 'flowControlled') retry.push(line);
      else if (status === 'deferred') deferred += 1;
      else if (status === 'quotaExhausted') quota.push(line);
      else if (status === 'failed') failed.push(line);
    }
    const list = (xs: string[]) => `${xs.slice(0, 10).join('; ')}${xs.length > 10 ? `; and ${xs.length - 10} more` : ''}`;
    if (over) return { ...over, counts };
    if (retry.length) return { verdict: 'retry', reason: `retryable: ${list(retry)}`, counts };
    if (deferred) return { verdict: 'defer', reason: `${deferred} call(s) waiting for a rate-limit slot`, counts, deferMs: this.deferMs };
    if (quota.length) return { verdict: 'quotaExhausted', reason: `monthly quota exhausted: ${list(quota)}`, counts };
    if (failed.length) return { verdict: 'deadLetter', reason: `permanent failure: ${list(failed)}`, counts };
    return { verdict: 'done', counts };
  }
}

const describe = (f: Pick<DingTalkFailure, 'code' | 'message'>): string => `${f.code} (${f.message})`;

function statusOf(f: DingTalkFailure): 'quotaExhausted' | 'failed' | 'deferred' | 'retry' {
  if (f.kind === 'quotaExhausted') return 'quotaExhausted';
  if (f.kind === 'permanent') return 'failed';
  return f.cause === 'deferred' ? 'deferred' : 'retry';
}

type OutcomeFields = Omit<RecipientOutcome, 'channel' | 'to' | 'updatedAt' | 'attemptId' | 'claimedAt'>;
const failureFields = (f: DingTalkFailure): OutcomeFields => ({ status: statusOf(f), code: f.code, message: f.message, requestId: f.requestId });

/** A mobile's userId: the per-organisation cache (shared with `notify`), else getbymobile through the gate. */
async function resolveMobile(ctx: DeliveryContext, session: WarRoomSession, corpId: string, mobile: string): Promise<DingTalkResult<{ userId: string }>> {
  const cached = await getCachedMobile(ctx.table, corpId, mobile, ctx.now());
  if (cached) {
    return cached.userId
      ? { kind: 'ok', data: { userId: cached.userId }, status: 200 }
      : { kind: 'permanent', code: NO_SUCH_MOBILE, message: 'no such user (cached)', status: 200 };
  }
  const r = await session.getUserIdByMobile(mobile);
  if (r.kind === 'ok') await putCachedMobile(ctx.table, corpId, mobile, r.data.userId, ctx.now());
  else if (r.code === NO_SUCH_MOBILE) await putCachedMobile(ctx.table, corpId, mobile, null, ctx.now());
  return r;
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
 *    the first 40 members), then recorded (lib/store/warRooms.ts) and its group item marked;
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
    const tenant = await ctx.getTenant(msg.tenantId);
    if (!tenant) return { verdict: 'deadLetter', reason: `unknown tenant ${msg.tenantId}`, counts: {}, untracked: true };

    const outcomes = new Outcomes(table, msg.tenantId, msg.id, ctx.now);
    const hash = createHash('sha256').update(JSON.stringify(msg)).digest('hex');
    const begun = await outcomes.begin({ kind: msg.kind, hash, severity: msg.severity });
    if (begun.conflict) return { verdict: 'deadLetter', reason: `id ${msg.id} was already used for a different message: not sent`, counts: {}, untracked: true };

    const missing = missingWarRoomConfig(tenant);
    if (missing.length) {
      const reason = `war_room.create not enabled for tenant ${tenant.tenantId}: ${missing.join(' and ')} not set (add the war-room template's Template ID and Bot ID to the tenant record)`;
      log.error('war_room.create for a tenant without a war-room template: dead-lettered', { missing });
      return { verdict: 'deadLetter', reason, counts: {} };
    }
    const templateId = tenant.warRoomTemplateId!;
    const botId = tenant.warRoomBotId!;
    const incidentId = msg.incident.id;
    const session = new WarRoomSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens }, tenant, msg.severity);
    const snapshot = await outcomes.snapshot();
    const tally = new Tally();

    // 1. Mobiles -> userIds.
    const resolve = async (mobile: string): Promise<{ userId?: string; failure?: DingTalkFailure; unknown?: boolean }> => {
      const known = snapshot.get(recipientKey('mobile', mobile));
      if (known?.status === 'resolved' && known.userId) {
        tally.note('mobile', mobile, 'resolved');
        return { userId: known.userId };
      }
      if (known?.status === 'unknownMobile') {
        tally.note('mobile', mobile, 'unknownMobile');
        return { unknown: true };
      }
      const r = await resolveMobile(ctx, session, tenant.corpId, mobile);
      if (r.kind === 'ok') {
        await outcomes.record('mobile', mobile, undefined, { status: 'resolved', userId: r.data.userId });
        tally.note('mobile', mobile, 'resolved');
        return { userId: r.data.userId };
      }
      if (r.code === NO_SUCH_MOBILE) {
        await outcomes.record('mobile', mobile, undefined, { status: 'unknownMobile', code: r.code, message: r.message });
        tally.note('mobile', mobile, 'unknownMobile');
        log.warn('no DingTalk user with this mobile', { mobile: maskMobile(mobile) });
        return { unknown: true };
      }
      await outcomes.record('mobile', mobile, undefined, failureFields(r));
      tally.note('mobile', mobile, statusOf(r), describe(r), r);
      return { failure: r };
    };

    const owner = await resolve(msg.ownerMobile);
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
    const memberUserIds: string[] = [];
    for (const mobile of dedupe(msg.memberMobiles).filter((m) => m !== msg.ownerMobile)) {
      const m = await resolve(mobile);
      if (m.userId) memberUserIds.push(m.userId);
    }

    // 2. The war room: the recorded one, or a new scene group.
    let room = await getWarRoom(table, msg.tenantId, incidentId);
    if (!room) {
      const plan = planMembers(ownerUserId, memberUserIds);
      const title = clipWarRoomTitle(msg.incident.title);
      const uuid = warRoomUuid(msg.tenantId, incidentId);
      const r = await session.createSceneGroup({ title, template_id: templateId, owner_user_id: ownerUserId, user_ids: plan.initial, uuid });
      if (r.kind !== 'ok') {
        tally.note('warRoom', incidentId, statusOf(r), `sceneGroup/create: ${describe(r)}`, r);
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
    } else {
      log.info('war room exists for the incident: no second group', { incidentId, openConversationId: room.openConversationId });
    }

    // 3. Members it lacks (more than the create took, or new in this request).
    for (const ids of missingMembers([ownerUserId, ...memberUserIds], room)) {
      const r = await session.addMembers({ open_conversation_id: room.openConversationId, user_ids: ids });
      if (r.kind === 'ok') {
        await addWarRoomMembers(table, msg.tenantId, incidentId, ids, ctx.now());
        await recordMembers(outcomes, ids, { status: 'sent', requestId: r.requestId, message: `added to war room ${room.openConversationId}` });
        for (const u of ids) tally.note('user', u, 'sent');
        log.info('war room members added', { incidentId, count: ids.length, requestId: r.requestId });
      } else {
        await recordMembers(outcomes, ids, failureFields(r));
        for (const u of ids) tally.note('user', u, statusOf(r), `sceneGroup/member/add: ${describe(r)}`, r);
        log.warn('sceneGroup/member/add failed', { incidentId, count: ids.length, kind: r.kind, code: r.code, requestId: r.requestId });
      }
    }

    // 4. The incident summary, once per incident.
    // The bot the group was made with (the tenant may have changed its template since).
    await postSummary(ctx, { session, outcomes, tally, msg, room, botId: room.botId || botId, sleep, interval, attempts });
    return tally.result();
  };
}

async function recordMembers(outcomes: Outcomes, userIds: readonly string[], fields: OutcomeFields): Promise<void> {
  await Promise.all(userIds.map((u) => outcomes.record('user', u, undefined, fields)));
}

interface SummaryDeps {
  session: WarRoomSession;
  outcomes: Outcomes;
  tally: Tally;
  msg: WarRoomCreateRequest;
  room: WarRoom;
  botId: string;
  sleep: (ms: number) => Promise<void>;
  interval: number;
  attempts: number;
}

/**
 * Posts the summary unless it was posted (or is being posted) for the incident: claimed on the
 * war-room record before the first send, its outcome written after. A claim left by an attempt that
 * died mid-send becomes `unknown` and is not re-posted (at most once, as the sender's recipients).
 */
async function postSummary(ctx: DeliveryContext, d: SummaryDeps): Promise<void> {
  const { session, outcomes, tally, msg, room } = d;
  const log = ctx.log;
  const cid = room.openConversationId;
  const incidentId = msg.incident.id;
  const s = room.summary;
  const decision = decide(s ? { status: s.status, claimedAt: s.claimedAt } : undefined, ctx.now());
  if (decision === 'skip') {
    tally.note('group', cid, s!.status, s!.status === 'sent' ? undefined : 'summary state unknown: not re-posted');
    log.info('war room summary already posted: not posted again', { incidentId, openConversationId: cid, by: s!.messageId });
    return;
  }
  if (decision === 'inFlight') {
    tally.note('group', cid, 'inFlight');
    return;
  }
  if (decision === 'orphaned') {
    const message = 'an earlier attempt died between its claim and its outcome; not re-posted (at most once)';
    await recordWarRoomSummary(ctx.table, msg.tenantId, incidentId, s!.attemptId, { status: 'unknown', code: 'orphanedClaim', message, messageId: s!.messageId }, ctx.now(), { onlyIfPending: true });
    await outcomes.record('group', cid, undefined, { status: 'unknown', code: 'orphanedClaim', message });
    tally.note('group', cid, 'unknown');
    log.warn('orphaned war room summary claim: recorded as unknown, not re-posted', { incidentId, openConversationId: cid });
    return;
  }
  const attemptId = randomUUID();
  if (!(await claimWarRoomSummary(ctx.table, msg.tenantId, incidentId, attemptId, msg.id, ctx.now()))) {
    tally.note('group', cid, 'inFlight');
    return;
  }

  const finish = async (status: SummaryStatus, fields: { code?: string; message?: string; requestId?: string; processQueryKey?: string }) => {
    const kept = await recordWarRoomSummary(ctx.table, msg.tenantId, incidentId, attemptId, { status, messageId: msg.id, ...fields }, ctx.now());
    if (!kept) log.error('war room summary claim lost before its outcome was written', { incidentId });
    await outcomes.record('group', cid, undefined, { status, ...fields });
  };

  let r: DingTalkResult<{ processQueryKey?: string }>;
  try {
    const rendered = renderWarRoomSummary(msg);
    for (let i = 1; ; i++) {
      r = await session.botSend(d.botId, { openConversationId: cid, msgKey: rendered.msgKey, msgParam: rendered.msgParam });
      if (r.kind === 'ok' || !isRobotNotInGroup(r) || i >= d.attempts) break;
      log.info('the group bot is not in the war room yet (template installing): posting again shortly', { incidentId, attempt: i, code: r.code });
      await d.sleep(d.interval);
    }
  } catch (e) {
    // Nothing was posted for sure: give the claim back to a later attempt.
    await finish('retry', { code: 'internal', message: (e as Error).message }).catch(() => undefined);
    throw e;
  }
  if (r.kind === 'ok') {
    await finish('sent', { requestId: r.requestId, processQueryKey: r.data.processQueryKey });
    tally.note('group', cid, 'sent');
    log.info('war room summary posted', { incidentId, openConversationId: cid, robotCode: d.botId, requestId: r.requestId });
    return;
  }
  // Still no bot after the retries: the template may be slow; SQS brings the message back.
  const status = isRobotNotInGroup(r) ? 'retry' : statusOf(r);
  await finish(status, { code: r.code, message: r.message, requestId: r.requestId });
  tally.note('group', cid, status, `summary: ${describe(r)}`, r);
  log.warn('war room summary not posted', { incidentId, openConversationId: cid, kind: r.kind, code: r.code, requestId: r.requestId });
}

/** The sender's default `war_room.create` handler. */
export const deliverWarRoom: KindHandler<'war_room.create'> = createWarRoomHandler();
