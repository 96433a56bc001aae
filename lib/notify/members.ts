import type { RecipientStatus } from '../delivery/rule';
import type { OutcomeStore } from '../delivery/outcomes';
import { getMemberLinks } from '../store/links';
import type { Table } from '../store/table';
import { dedupe } from '../util/lists';

/**
 * `notify.to.memberIds` (docs/two-way.md, "Contract v1 additions"): each Flashduty member is
 * resolved through its link (lib/store/links.ts) to its DingTalk user, who is then sent to like any
 * user. A member with no link gets no DM and is recorded `unlinked`, with how to link them, so the
 * message's status names them: never dropped silently. Both are final for the message, like a
 * mobile's resolution: a retry reuses them.
 */

/** What a member's unlinked record says. */
export const unlinkedDetail = (tenantId: string, memberId: string): string =>
  `member ${memberId} has not linked DingTalk: send them \`npm run tenant -- link-url ${tenantId} ${memberId}\``;

/** The part of a message's attempt the resolution uses: its records and its status lines. */
export interface MemberAttempt {
  msg: { tenantId: string; to: { memberIds?: string[] } };
  outcomes: Pick<OutcomeStore, 'record'>;
  known(channel: 'member', to: string): { status: RecipientStatus; userId?: string } | undefined;
  note(channel: 'member', to: string, status: RecipientStatus, detail?: string): void;
}

/**
 * The DingTalk users of the message's members (one BatchGetItem per 100 not yet resolved), each
 * member noted `resolved` or `unlinked`.
 *
 * @example
 * const fromMembers = await resolveMembers(table, attempt);
 */
export async function resolveMembers(table: Table, attempt: MemberAttempt): Promise<string[]> {
  const { msg, outcomes } = attempt;
  const memberIds = dedupe(msg.to.memberIds);
  const users: string[] = [];
  const unknown: string[] = [];
  for (const memberId of memberIds) {
    const known = attempt.known('member', memberId);
    if (known?.status === 'resolved' && known.userId) {
      users.push(known.userId);
      attempt.note('member', memberId, 'resolved');
    } else if (known?.status === 'unlinked') {
      attempt.note('member', memberId, 'unlinked', unlinkedDetail(msg.tenantId, memberId));
    } else unknown.push(memberId);
  }
  if (!unknown.length) return users;
  const links = await getMemberLinks(table, msg.tenantId, unknown);
  for (const memberId of unknown) {
    const link = links.get(memberId);
    if (link) {
      users.push(link.userId);
      await outcomes.record('member', memberId, undefined, { status: 'resolved', userId: link.userId });
      attempt.note('member', memberId, 'resolved');
    } else {
      const detail = unlinkedDetail(msg.tenantId, memberId);
      await outcomes.record('member', memberId, undefined, { status: 'unlinked', code: 'unlinked', message: detail });
      attempt.note('member', memberId, 'unlinked', detail);
    }
  }
  return users;
}
