import { NO_SUCH_MOBILE_CODES } from '../dingtalk/client';
import { resolveMobile } from '../dingtalk/appSession';
import type { DingTalkFailure } from '../dingtalk/errors';
import type { OutcomeStore } from '../delivery/outcomes';
import { recipientKey, type RecipientOutcome } from '../delivery/rule';
import type { DeliveryContext } from '../delivery/types';
import { describe, failureFields, statusOfFailure, type OutcomeFields } from '../delivery/verdict';
import { getMemberLinks } from '../store/links';
import { addWarRoomMembers, type WarRoom } from '../store/warRooms';
import { dedupe } from '../util/lists';
import { maskMobile } from '../util/mask';
import { missingMembers } from './members';
import type { WarRoomSession } from './session';
import type { Tally } from './tally';

/**
 * Who is (to be) in a war room, shared by `war_room.create` and `war_room.update`: mobiles and
 * linked Flashduty members resolved to DingTalk users, and the users the war room lacks added with
 * `sceneGroup/member/add` (docs/dingtalk-api.md §5.2), each step written to the message's delivery
 * records (docs/DESIGN.md, "The delivery rule") and noted on the attempt's {@link Tally}.
 */
export interface WarRoomAttempt {
  ctx: DeliveryContext;
  session: WarRoomSession;
  outcomes: OutcomeStore;
  /** The message's delivery records as the attempt found them. */
  snapshot: Map<string, RecipientOutcome>;
  tally: Tally;
  /** The organisation: the mobile cache is kept per corpId. */
  corpId: string;
}

/** A mobile's DingTalk user; `unknown` when nobody in the organisation has it; `failure` when that is not known yet. */
export interface MobileResolution {
  userId?: string;
  failure?: DingTalkFailure;
  unknown?: boolean;
}

/**
 * A mobile -> userId, as recorded by an earlier attempt of the message, else from the cache or
 * getbymobile (through the gate); recorded as `resolved` or `unknownMobile`, or with the failure.
 *
 * @example
 * const owner = await resolveWarRoomMobile(attempt, '13800000001'); // { userId: 'user001' }
 */
export async function resolveWarRoomMobile(a: WarRoomAttempt, mobile: string): Promise<MobileResolution> {
  const { tally, outcomes, ctx } = a;
  const known = a.snapshot.get(recipientKey('mobile', mobile));
  if (known?.status === 'resolved' && known.userId) {
    tally.note('mobile', mobile, 'resolved');
    return { userId: known.userId };
  }
  if (known?.status === 'unknownMobile') {
    tally.note('mobile', mobile, 'unknownMobile');
    return { unknown: true };
  }
  const r = await resolveMobile(ctx, a.session, a.corpId, mobile);
  if (r.kind === 'ok') {
    await outcomes.record('mobile', mobile, undefined, { status: 'resolved', userId: r.data.userId });
    tally.note('mobile', mobile, 'resolved');
    return { userId: r.data.userId };
  }
  if (NO_SUCH_MOBILE_CODES.has(r.code)) {
    await outcomes.record('mobile', mobile, undefined, { status: 'unknownMobile', code: r.code, message: r.message });
    tally.note('mobile', mobile, 'unknownMobile');
    ctx.log.warn('no DingTalk user with this mobile', { mobile: maskMobile(mobile) });
    return { unknown: true };
  }
  await outcomes.record('mobile', mobile, undefined, failureFields(r));
  tally.note('mobile', mobile, statusOfFailure(r), describe(r), r);
  return { failure: r };
}

/** The userIds of these mobiles that resolved (unknown and failed ones are noted, and left out). */
export async function resolveWarRoomMobiles(a: WarRoomAttempt, mobiles: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const mobile of dedupe(mobiles)) {
    const m = await resolveWarRoomMobile(a, mobile);
    if (m.userId) out.push(m.userId);
  }
  return out;
}

/** What the delivery records say of a member whose link is missing. */
export const UNLINKED_DETAIL = 'no DingTalk user linked to this Flashduty member';

/**
 * Flashduty member ids -> DingTalk userIds through their links (lib/store/links.ts). A linked
 * member is recorded `resolved` (with the userId); an unlinked one `unlinked`: reported in the
 * message's status, never dropped silently (docs/two-way.md, "Contract v1 additions"). A record is
 * written only when it changes.
 *
 * @example
 * const userIds = await resolveLinkedMembers(attempt, 'acme', ['2476444212131']);
 */
export async function resolveLinkedMembers(a: WarRoomAttempt, tenantId: string, memberIds: readonly string[]): Promise<string[]> {
  const ids = dedupe(memberIds);
  if (!ids.length) return [];
  const links = await getMemberLinks(a.ctx.table, tenantId, ids);
  const out: string[] = [];
  for (const memberId of ids) {
    const link = links.get(memberId);
    const known = a.snapshot.get(recipientKey('member', memberId));
    if (link) {
      out.push(link.userId);
      if (known?.status !== 'resolved' || known.userId !== link.userId) await a.outcomes.record('member', memberId, undefined, { status: 'resolved', userId: link.userId });
      a.tally.note('member', memberId, 'resolved');
    } else {
      if (known?.status !== 'unlinked') await a.outcomes.record('member', memberId, undefined, { status: 'unlinked', message: UNLINKED_DETAIL });
      a.tally.note('member', memberId, 'unlinked', UNLINKED_DETAIL);
      a.ctx.log.warn('a Flashduty member without a linked DingTalk user: not added to the war room', { memberId });
    }
  }
  return out;
}

/** The same delivery-record fields for each of these users. */
export async function recordMembers(outcomes: OutcomeStore, userIds: readonly string[], fields: OutcomeFields): Promise<void> {
  await Promise.all(userIds.map((u) => outcomes.record('user', u, undefined, fields)));
}

/**
 * Adds the users of `wanted` the war room lacks (not its owner, not a recorded member), in chunks,
 * through the gate; each added chunk is recorded on the war room (`addWarRoomMembers`) and as `sent`,
 * a failed one with its failure. A repeat finds them recorded: nobody is added twice.
 *
 * @example
 * await addMissingMembers(attempt, room, ['u1', 'u2']);
 */
export async function addMissingMembers(a: WarRoomAttempt, room: WarRoom, wanted: readonly string[]): Promise<void> {
  const { ctx, outcomes, tally } = a;
  const { tenantId, incidentId, openConversationId: cid } = room;
  for (const ids of missingMembers(wanted, room)) {
    const r = await a.session.addMembers({ open_conversation_id: cid, user_ids: ids });
    if (r.kind === 'ok') {
      await addWarRoomMembers(ctx.table, tenantId, incidentId, ids, ctx.now());
      await recordMembers(outcomes, ids, { status: 'sent', requestId: r.requestId, message: `added to war room ${cid}` });
      for (const u of ids) tally.note('user', u, 'sent');
      ctx.log.info('war room members added', { incidentId, count: ids.length, requestId: r.requestId });
    } else {
      await recordMembers(outcomes, ids, failureFields(r));
      for (const u of ids) tally.note('user', u, statusOfFailure(r), `sceneGroup/member/add: ${describe(r)}`, r);
      ctx.log.warn('sceneGroup/member/add failed', { incidentId, count: ids.length, kind: r.kind, code: r.code, requestId: r.requestId });
    }
  }
}
