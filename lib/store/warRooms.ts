import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { groupKey, warRoomKey } from '../contracts/tableKeys';
import { tryConditional, type Table } from './table';

/**
 * War rooms: the scene group made for an incident, one item per incident,
 * pk `CHATS#<tenantId>`, sk `WARROOM#<incidentId>`:
 * `openConversationId`, `chatId`, `title` (as created), `ownerUserId`, `members` (a string set of
 * userIds added besides the owner), `uuid` (the create idempotency key), `templateId`, `botId`,
 * `incidentUrl`, `createdBy` (the message id), `createdAt`, `updatedAt`, and `summary`: the state of
 * the incident summary post (claimed once per incident, see {@link claimWarRoomSummary}). Once
 * `war_room.dismiss` disbanded the group: `dismissedAt` and `dismissedBy` (the message id), see
 * {@link markWarRoomDismissed}; `disbandUnansweredAt` when a disband call got no clear answer.
 *
 * The group itself is also marked on its group item (`GROUP#<openConversationId>`, lib/store/groups.ts)
 * with `warRoom: { incidentId, title }`; `chat_update_title` keeps that title in step with renames,
 * so {@link getWarRoom} reads the current title from there.
 */

export type SummaryStatus =
  /** Claimed: a post is (or was) under way. */
  | 'pending'
  | 'sent'
  /** Not posted yet (retryable failure, bot still installing): a later attempt posts it. */
  | 'retry'
  /** Not posted yet: the app had no rate-limit slot soon. */
  | 'deferred'
  | 'quotaExhausted'
  /** A permanent failure: a redrive from the dead-letter queue may try again. */
  | 'failed'
  /** Written by earlier versions for an orphaned claim (now taken over and posted again instead). */
  | 'unknown';

/** A later attempt (any message for the incident) may claim these again: nothing was posted. */
export const SUMMARY_CLAIMABLE: readonly SummaryStatus[] = ['retry', 'deferred', 'quotaExhausted', 'failed'];

export interface WarRoomSummary {
  status: SummaryStatus;
  attemptId?: string;
  /** Epoch ms of the claim. */
  claimedAt?: number;
  /** The notify message id whose attempt holds (or made) the post. */
  messageId?: string;
  code?: string;
  message?: string;
  requestId?: string;
  processQueryKey?: string;
  /** An earlier post's answer was ambiguous, or its attempt died mid-call: a post now may be a duplicate. */
  possibleDuplicate?: boolean;
  updatedAt: string;
}

export interface WarRoom {
  tenantId: string;
  incidentId: string;
  openConversationId: string;
  chatId?: string;
  /** The current title: the group's, after a rename (chat_update_title); else the title it was created with. */
  title: string;
  /** The title the group was created with. */
  createdTitle: string;
  incidentUrl?: string;
  templateId: string;
  botId: string;
  ownerUserId: string;
  /** Members besides the owner, sorted. */
  members: string[];
  uuid: string;
  /** The notify message id that created it. */
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  summary?: WarRoomSummary;
  /** When `war_room.dismiss` disbanded the group (ISO 8601); absent while it is live. */
  dismissedAt?: string;
  /** The `war_room.dismiss` message id that disbanded it. */
  dismissedBy?: string;
  /** A disband call's answer was lost (timeout, 5xx): DingTalk may have disbanded the group (ISO 8601). */
  disbandUnansweredAt?: string;
  /** The attempt that holds the disband's claim, and since when (epoch ms): lib/store/warRoomDisband.ts. */
  disbandAttemptId?: string;
  disbandClaimedAt?: number;
}

export type NewWarRoom = Omit<WarRoom, 'title' | 'createdAt' | 'updatedAt' | 'summary' | 'dismissedAt' | 'dismissedBy' | 'disbandUnansweredAt' | 'disbandAttemptId' | 'disbandClaimedAt'>;

const toArray = (v: unknown): string[] => (v instanceof Set ? [...v] : Array.isArray(v) ? v : []).filter((x): x is string => typeof x === 'string').sort();

function fromItem(item: Record<string, unknown>, groupTitle: string | undefined): WarRoom {
  const { pk: _pk, sk: _sk, type: _type, members, title, ...rest } = item;
  return { ...(rest as Omit<WarRoom, 'members' | 'title' | 'createdTitle'>), createdTitle: title as string, title: groupTitle ?? (title as string), members: toArray(members) };
}

/**
 * The war room of an incident, or undefined; `title` is the group's current one.
 *
 * @example
 * const room = await getWarRoom(table, 'acme', 'inc-6621');
 * if (room) console.log(room.openConversationId, room.title, room.members);
 */
export async function getWarRoom(table: Table, tenantId: string, incidentId: string): Promise<WarRoom | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: warRoomKey(tenantId, incidentId), ConsistentRead: true }));
  if (!r.Item) return undefined;
  const g = await table.doc.send(new GetCommand({ TableName: table.name, Key: groupKey(tenantId, r.Item.openConversationId as string), ConsistentRead: true }));
  const wr = g.Item?.warRoom as { incidentId?: unknown; title?: unknown } | undefined;
  const groupTitle = wr && wr.incidentId === incidentId && typeof wr.title === 'string' ? wr.title : undefined;
  return fromItem(r.Item, groupTitle);
}

/**
 * Records a new war room: marks its group item (`warRoom: { incidentId, title }`, kept if already
 * there) and writes the incident's item unless one exists. Returns the stored war room: this one,
 * or the one another attempt recorded first (`created: false`). Safe to repeat.
 *
 * @example
 * const { room, created } = await recordWarRoom(table, { tenantId, incidentId, openConversationId, ... }, Date.now());
 */
export async function recordWarRoom(table: Table, room: NewWarRoom, nowMs: number): Promise<{ room: WarRoom; created: boolean }> {
  await markWarRoomGroup(table, room.tenantId, room.openConversationId, { incidentId: room.incidentId, title: room.createdTitle, chatId: room.chatId }, nowMs);
  const at = new Date(nowMs).toISOString();
  const { createdTitle, members, ...rest } = room;
  const write = table.doc.send(
    new PutCommand({
      TableName: table.name,
      Item: {
        ...warRoomKey(room.tenantId, room.incidentId),
        type: 'warRoom',
        ...rest,
        title: createdTitle,
        // An empty string set cannot be stored: the attribute appears with the first member.
        ...(members.length ? { members: new Set(members) } : {}),
        createdAt: at,
        updatedAt: at,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  if (!(await tryConditional(write))) {
    // Another attempt recorded it first; if it is gone again, the refusal is the answer.
    const existing = await getWarRoom(table, room.tenantId, room.incidentId);
    if (existing) return { room: existing, created: false };
    await write; // rejects again: rethrows the ConditionalCheckFailedException
  }
  return { room: (await getWarRoom(table, room.tenantId, room.incidentId))!, created: true };
}

/**
 * Marks a group item as an incident's war room (`warRoom: { incidentId, title }`, and the group's
 * `title` until a rename sets it), keeping a mark already there. If the group was renamed before the mark was written, the war room takes the
 * group's newer title.
 */
export async function markWarRoomGroup(table: Table, tenantId: string, openConversationId: string, wr: { incidentId: string; title: string; chatId?: string }, nowMs: number): Promise<void> {
  const r = await table.doc.send(
    new UpdateCommand({
      TableName: table.name,
      Key: groupKey(tenantId, openConversationId),
      UpdateExpression: `SET #type = if_not_exists(#type, :type), #tenantId = :tenantId, #cid = :cid, #title = if_not_exists(#title, :title), #warRoom = if_not_exists(#warRoom, :wr), #updatedAt = :at${wr.chatId ? ', #chatId = if_not_exists(#chatId, :chatId)' : ''}`,
      ExpressionAttributeNames: { '#type': 'type', '#tenantId': 'tenantId', '#cid': 'openConversationId', '#title': 'title', '#warRoom': 'warRoom', '#updatedAt': 'updatedAt', ...(wr.chatId ? { '#chatId': 'chatId' } : {}) },
      ExpressionAttributeValues: {
        ':type': 'group',
        ':tenantId': tenantId,
        ':cid': openConversationId,
        ':title': wr.title,
        ':wr': { incidentId: wr.incidentId, title: wr.title },
        ':at': new Date(nowMs).toISOString(),
        ...(wr.chatId ? { ':chatId': wr.chatId } : {}),
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const item = r.Attributes ?? {};
  const mark = item.warRoom as { incidentId?: unknown; title?: unknown } | undefined;
  if (typeof item.titleAt !== 'number' || typeof item.title !== 'string' || mark?.incidentId !== wr.incidentId || mark.title === item.title) return;
  // Refused when a newer rename got in: it set the war room's title itself.
  await tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: groupKey(tenantId, openConversationId),
        UpdateExpression: 'SET #warRoom.#title = :title',
        ConditionExpression: '#titleAt = :at',
        ExpressionAttributeNames: { '#warRoom': 'warRoom', '#title': 'title', '#titleAt': 'titleAt' },
        ExpressionAttributeValues: { ':title': item.title, ':at': item.titleAt },
      }),
    ),
  );
}

/** Adds userIds to the war room's members (a set: repeats are harmless). */
export async function addWarRoomMembers(table: Table, tenantId: string, incidentId: string, userIds: readonly string[], nowMs: number): Promise<void> {
  if (!userIds.length) return;
  await table.doc.send(
    new UpdateCommand({
      TableName: table.name,
      Key: warRoomKey(tenantId, incidentId),
      UpdateExpression: 'ADD #members :ids SET #updatedAt = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#members': 'members', '#updatedAt': 'updatedAt' },
      ExpressionAttributeValues: { ':ids': new Set(userIds), ':at': new Date(nowMs).toISOString() },
    }),
  );
}

/**
 * Records that the war room's group was disbanded by message `messageId`: `dismissedAt` and
 * `dismissedBy`, kept as first written (a repeat changes nothing). False when no war room is recorded.
 *
 * @example
 * await markWarRoomDismissed(table, 'acme', 'inc-6621', 'fd-dismiss-1', Date.now());
 */
export async function markWarRoomDismissed(table: Table, tenantId: string, incidentId: string, messageId: string, nowMs: number): Promise<boolean> {
  const at = new Date(nowMs).toISOString();
  return tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: warRoomKey(tenantId, incidentId),
        UpdateExpression: 'SET #dismissedAt = if_not_exists(#dismissedAt, :at), #dismissedBy = if_not_exists(#dismissedBy, :by), #updatedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#dismissedAt': 'dismissedAt', '#dismissedBy': 'dismissedBy', '#updatedAt': 'updatedAt' },
        ExpressionAttributeValues: { ':at': at, ':by': messageId },
      }),
    ),
  );
}

/** Notes that a disband call got no clear answer: a later refusal of the group as unknown then means it was disbanded. */
export async function markWarRoomDisbandUnanswered(table: Table, tenantId: string, incidentId: string, nowMs: number): Promise<void> {
  await tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: warRoomKey(tenantId, incidentId),
        UpdateExpression: 'SET #u = if_not_exists(#u, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#u': 'disbandUnansweredAt' },
        ExpressionAttributeValues: { ':at': new Date(nowMs).toISOString() },
      }),
    ),
  );
}

/**
 * Claims the incident's summary post for `attemptId`: true when nobody posted it and no other
 * attempt holds it (its status is absent or one of {@link SUMMARY_CLAIMABLE}). With `takeOverBefore`
 * (epoch ms), also takes over a `pending` claim made before then (its attempt died mid-call) and
 * marks the summary `possibleDuplicate`.
 */
export async function claimWarRoomSummary(table: Table, tenantId: string, incidentId: string, attemptId: string, messageId: string, nowMs: number, opts: { takeOverBefore?: number } = {}): Promise<boolean> {
  const summary: WarRoomSummary = { status: 'pending', attemptId, claimedAt: nowMs, messageId, updatedAt: new Date(nowMs).toISOString() };
  if (opts.takeOverBefore !== undefined) {
    return writeSummary(table, tenantId, incidentId, { ...summary, possibleDuplicate: true }, {
      expr: '#summary.#status = :pending AND #summary.#claimedAt < :stale',
      names: { '#status': 'status', '#claimedAt': 'claimedAt' },
      values: { ':pending': 'pending', ':stale': opts.takeOverBefore },
    });
  }
  return writeSummary(table, tenantId, incidentId, summary, {
    expr: `attribute_exists(pk) AND (attribute_not_exists(#summary) OR #summary.#status IN (${SUMMARY_CLAIMABLE.map((_, i) => `:c${i}`).join(', ')}))`,
    names: { '#status': 'status' },
    values: Object.fromEntries(SUMMARY_CLAIMABLE.map((st, i) => [`:c${i}`, st])),
  });
}

/**
 * Writes the outcome of the summary post while `attemptId` still holds the claim; false when the
 * claim changed meanwhile.
 */
export async function recordWarRoomSummary(
  table: Table,
  tenantId: string,
  incidentId: string,
  attemptId: string | undefined,
  fields: Omit<WarRoomSummary, 'updatedAt' | 'attemptId' | 'claimedAt'>,
  nowMs: number,
): Promise<boolean> {
  const summary: WarRoomSummary = { ...fields, attemptId, updatedAt: new Date(nowMs).toISOString() };
  return writeSummary(table, tenantId, incidentId, summary, { expr: '#summary.#attemptId = :owner', names: { '#attemptId': 'attemptId' }, values: { ':owner': attemptId ?? '' } });
}

/** Sets the war room's `summary` when `cond` holds; false when it does not. */
function writeSummary(table: Table, tenantId: string, incidentId: string, summary: WarRoomSummary, cond: { expr: string; names: Record<string, string>; values: Record<string, unknown> }): Promise<boolean> {
  return tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: warRoomKey(tenantId, incidentId),
        UpdateExpression: 'SET #summary = :s, #updatedAt = :at',
        ConditionExpression: cond.expr,
        ExpressionAttributeNames: { '#summary': 'summary', '#updatedAt': 'updatedAt', ...cond.names },
        ExpressionAttributeValues: { ':s': summary, ':at': summary.updatedAt, ...cond.values },
      }),
    ),
  );
}
