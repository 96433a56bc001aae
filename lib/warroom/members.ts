import { chunk, dedupe } from '../util/lists';

/** Initial members (owner not included) sceneGroup/create accepts. */
export const MAX_INITIAL_MEMBERS = 40;
/** userIds per sceneGroup/member/add call (the stricter reading of DingTalk's limits). */
export const MAX_MEMBERS_PER_ADD = 20;

export interface MemberPlan {
  /** user_ids for sceneGroup/create. */
  initial: string[];
  /** One sceneGroup/member/add call each. */
  additions: string[][];
}

/**
 * Who goes into the create call and who is added after, in order: the members without the owner
 * and without repeats, the first {@link MAX_INITIAL_MEMBERS} at creation, the rest in chunks of
 * {@link MAX_MEMBERS_PER_ADD}.
 *
 * @example
 * planMembers('owner', ids45) // { initial: ids45 without owner, first 40, additions: [[the other 5]] }
 */
export function planMembers(ownerUserId: string, memberUserIds: readonly string[], opts: { initialMax?: number; perAdd?: number } = {}): MemberPlan {
  const members = dedupe(memberUserIds).filter((u) => u !== ownerUserId);
  const initialMax = opts.initialMax ?? MAX_INITIAL_MEMBERS;
  return { initial: members.slice(0, initialMax), additions: chunk(members.slice(initialMax), opts.perAdd ?? MAX_MEMBERS_PER_ADD) };
}

/**
 * The users an existing war room still lacks, in chunks for sceneGroup/member/add: `wanted`
 * (this request's owner and members) minus its owner and the members already added.
 *
 * @example
 * missingMembers(['a', 'b', 'c'], { ownerUserId: 'a', members: ['b'] }) // [['c']]
 */
export function missingMembers(wanted: readonly string[], room: { ownerUserId: string; members: readonly string[] }, perAdd = MAX_MEMBERS_PER_ADD): string[][] {
  const present = new Set([room.ownerUserId, ...room.members]);
  return chunk(dedupe(wanted).filter((u) => !present.has(u)), perAdd);
}
