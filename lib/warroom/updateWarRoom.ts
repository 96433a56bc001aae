import { beginMessage } from '../delivery/begin';
import { outOfTime, type KindHandler } from '../delivery/types';
import { getWarRoom } from '../store/warRooms';
import { dismissedReason } from './disband';
import { addMissingMembers, resolveLinkedMembers, resolveWarRoomMobiles, type WarRoomAttempt } from './roster';
import { WarRoomSession } from './session';
import { Tally } from './tally';

/**
 * The reason of the retry (and, once the retries are spent, of the dead letter) of an update whose
 * incident has no war room yet.
 */
export const noWarRoomReason = (incidentId: string): string => `no war room for incident ${incidentId} (yet: its war_room.create may still be in flight)`;

/**
 * `war_room.update` for the sender (docs/two-way.md, "Contract v1 additions"): new responders for
 * an incident's war room.
 *
 * 1. The war room must be recorded. None yet (the `war_room.create` may still be in flight): the
 *    usual `retry` verdict, so the sender tries again with backoff and, after its last attempt,
 *    dead-letters the message with the reason "no war room for incident X". A dismissed war room:
 *    dead-lettered at once ("war room dismissed").
 * 2. `memberMobiles` -> userIds as `war_room.create` resolves them (unknown mobiles reported);
 *    `memberIds` -> userIds through their links (an unlinked member reported `unlinked`, never
 *    dropped silently).
 * 3. The users the war room lacks: `sceneGroup/member/add` in chunks through the gate, recorded on
 *    the war room. A redelivery, or a later update naming the same people, adds nobody twice.
 *
 * @example
 * const sender = createSender({ table, sqs, client, dlqUrl, handlers: { 'war_room.update': deliverWarRoomUpdate } });
 */
export const deliverWarRoomUpdate: KindHandler<'war_room.update'> = async (ctx, msg) => {
  const { table, log } = ctx;
  const start = await beginMessage(ctx, msg, { batched: false });
  if ('verdict' in start) return start;
  const { tenant, outcomes, begun } = start;

  const incidentId = msg.incident.id;
  const room = await getWarRoom(table, msg.tenantId, incidentId);
  if (!room) {
    log.warn('war_room.update before its war room exists: retried later', { incidentId });
    return { verdict: 'retry', reason: noWarRoomReason(incidentId), counts: {} };
  }
  if (room.dismissedAt) {
    log.warn('war_room.update for a dismissed war room: dead-lettered', { incidentId, openConversationId: room.openConversationId });
    return { verdict: 'deadLetter', reason: `${dismissedReason(room)}: nobody added`, counts: {} };
  }

  const session = new WarRoomSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens, outOfTime: () => outOfTime(ctx) }, tenant, msg.severity);
  const tally = new Tally();
  const attempt: WarRoomAttempt = { ctx, session, outcomes, snapshot: await outcomes.snapshot(begun), tally, corpId: tenant.corpId };

  const byMobile = await resolveWarRoomMobiles(attempt, msg.memberMobiles ?? []);
  const byLink = await resolveLinkedMembers(attempt, msg.tenantId, msg.memberIds ?? []);
  await addMissingMembers(attempt, room, [...byMobile, ...byLink]);
  return tally.result();
};
