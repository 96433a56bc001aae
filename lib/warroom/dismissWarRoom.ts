import { beginMessage } from '../delivery/begin';
import { randomUUID } from 'node:crypto';
import { CLAIM_LEASE_MS } from '../delivery/rule';
import { outOfTime, type DeliveryContext, type KindHandler } from '../delivery/types';
import { failureFields, statusOfFailure } from '../delivery/verdict';
import { isAmbiguous } from '../dingtalk/errors';
import { markGroupDisbanded } from '../store/groups';
import { claimWarRoomDisband, releaseWarRoomDisband } from '../store/warRoomDisband';
import { getWarRoom, markWarRoomDisbandUnanswered, markWarRoomDismissed, type WarRoom } from '../store/warRooms';
import { DISBAND_PARAM_ILLEGAL, describeDisbandFailure } from './disband';
import { WarRoomSession } from './session';
import { Tally } from './tally';

/** The dead-letter reason of a dismiss whose incident has no war room. */
export const noWarRoomToDismissReason = (incidentId: string): string => `no war room for incident ${incidentId}: nothing to dismiss`;

/**
 * `war_room.dismiss` for the sender (docs/two-way.md, "Contract v1 additions"): disbands the
 * incident's war room (docs/dingtalk-api.md §5.3) through the gate, then records it: the group item
 * `disbandedAt` (the homepage no longer lists it), then the war room `dismissedAt` / `dismissedBy`.
 *
 * - No war room recorded for the incident: dead-lettered with the reason, no call.
 * - Recorded dismissed already (a redelivery, a second dismiss): done without a call.
 * - The disband is claimed on the war room before the call (lib/store/warRoomDisband.ts): a dismiss
 *   that finds another attempt's live claim makes no call and comes back after the lease (by then
 *   the war room says dismissed, or the claim was given back). Without it, a duplicate delivered
 *   at the same moment drew `paramIllegal` before the first recorded the dismissal, and was
 *   dead-lettered as a false alarm over the first's `sent` record.
 * - `paramIllegal` and `permession.checkFailed` are permanent: dead-lettered with what they mean;
 *   `system.error` and other retryable failures: retried with backoff.
 * - DingTalk refuses a repeat (`paramIllegal`, §5.3). So when an earlier disband call got no clear
 *   answer (recorded as `disbandUnansweredAt`), or an attempt that died during the call left its
 *   claim (taken over), or another attempt recorded the dismissal meanwhile, that refusal means the
 *   group is gone: the war room is recorded dismissed.
 *
 * @example
 * const sender = createSender({ table, sqs, client, dlqUrl, handlers: { 'war_room.dismiss': deliverWarRoomDismiss } });
 */
export const deliverWarRoomDismiss: KindHandler<'war_room.dismiss'> = async (ctx, msg) => {
  const { table, log } = ctx;
  const start = await beginMessage(ctx, msg, { batched: false });
  if ('verdict' in start) return start;
  const { tenant, outcomes, begun } = start;

  const incidentId = msg.incident.id;
  const room = await getWarRoom(table, msg.tenantId, incidentId);
  if (!room) {
    log.error('war_room.dismiss for an incident without a war room: dead-lettered', { incidentId });
    return { verdict: 'deadLetter', reason: noWarRoomToDismissReason(incidentId), counts: {} };
  }
  const cid = room.openConversationId;
  const tally = new Tally();
  const already = async (r: WarRoom) => {
    await outcomes.record('group', cid, undefined, { status: 'sent', message: `war room already dismissed at ${r.dismissedAt} by message ${r.dismissedBy}: no call` });
    tally.note('group', cid, 'sent');
    log.info('war room already dismissed: no call', { incidentId, openConversationId: cid, dismissedBy: r.dismissedBy });
    return tally.result();
  };
  if (room.dismissedAt) return already(room);

  const attemptId = randomUUID();
  const claimedAt = ctx.now();
  // A stale claim replaced by this one was left by an attempt that died during the call.
  const { claimed, tookOver } = await claimWarRoomDisband(table, msg.tenantId, incidentId, attemptId, claimedAt, claimedAt - CLAIM_LEASE_MS);
  if (!claimed) {
    const again = await getWarRoom(table, msg.tenantId, incidentId);
    if (again?.dismissedAt) return already(again);
    tally.note('group', cid, 'inFlight', 'war room being disbanded by another attempt', { retryAfterMs: CLAIM_LEASE_MS });
    log.info('war room being disbanded by another attempt: no call, back later', { incidentId, openConversationId: cid });
    return tally.result();
  }

  const session = new WarRoomSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens, outOfTime: () => outOfTime(ctx) }, tenant, msg.severity);
  const r = await session.disband(cid);
  if (r.kind === 'ok') {
    await recordDismissed(ctx, room, msg.id);
    await outcomes.record('group', cid, undefined, { status: 'sent', requestId: r.requestId, message: `war room ${cid} disbanded` });
    tally.note('group', cid, 'sent');
    log.info('war room disbanded', { incidentId, openConversationId: cid, requestId: r.requestId });
    return tally.result();
  }

  if (r.code === DISBAND_PARAM_ILLEGAL) {
    // Refused as unknown: gone already if an earlier call may have disbanded it, or another attempt recorded it.
    const now = await getWarRoom(table, msg.tenantId, incidentId);
    if (now?.dismissedAt || now?.disbandUnansweredAt || tookOver) {
      if (!now?.dismissedAt) await recordDismissed(ctx, room, msg.id);
      const how = now?.dismissedAt ? `dismissed by message ${now.dismissedBy}` : 'disbanded by an earlier call whose answer was lost';
      await outcomes.record('group', cid, undefined, { status: 'sent', code: r.code, requestId: r.requestId, message: `war room ${cid} ${how}` });
      tally.note('group', cid, 'sent');
      log.info('disband refused as unknown after an earlier disband: recorded dismissed', { incidentId, openConversationId: cid, how });
      return tally.result();
    }
  }

  if (isAmbiguous(r) || tookOver) await markWarRoomDisbandUnanswered(table, msg.tenantId, incidentId, ctx.now());
  // Failed (the group may be gone only if the answer was lost, now on the record): the next attempt need not wait.
  await releaseWarRoomDisband(table, msg.tenantId, incidentId, attemptId);
  await outcomes.record('group', cid, undefined, failureFields(r));
  const detail = `scenegroup/disband: ${describeDisbandFailure(r)}`;
  tally.note('group', cid, statusOfFailure(r), detail, r);
  log.warn('scenegroup/disband failed', { incidentId, openConversationId: cid, kind: r.kind, code: r.code, requestId: r.requestId });
  return r.kind === 'permanent' ? tally.result({ verdict: 'deadLetter', reason: `the war room of incident ${incidentId} (${cid}) was not dismissed: ${detail}` }) : tally.result();
};

/** The group item first, then the war room: once the war room says dismissed, nothing is left to mark. */
async function recordDismissed(ctx: Pick<DeliveryContext, 'table' | 'now'>, room: WarRoom, messageId: string): Promise<void> {
  const now = ctx.now();
  await markGroupDisbanded(ctx.table, room.tenantId, room.openConversationId, now);
  await markWarRoomDismissed(ctx.table, room.tenantId, room.incidentId, messageId, now);
}
