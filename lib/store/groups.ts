import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { chatsPk, GROUP_SK_PREFIX, groupKey } from '../contracts/tableKeys';
import { tryConditional, type Table } from './table';

/**
 * Group chats a tenant's app knows about, one item per group:
 * pk `CHATS#<tenantId>`, sk `GROUP#<openConversationId>`.
 *
 * Two independent facts live on the item, each with its own version (the DingTalk event time in
 * epoch ms) so a late, older event never overwrites newer state and a rename never blocks an
 * install (or the reverse):
 * - the title (`title`, versioned by `titleAt`), from `chat_update_title`;
 * - the cool-app link (`linked`, `coolAppCode`, `robotCode`, ..., versioned by `linkAt`), from
 *   `im_cool_app_install` / `im_cool_app_uninstall`, with a short history of link changes.
 * The war-room feature may add `warRoom: { incidentId, title }`; renames keep its title in step.
 */

/** How many link changes a group keeps in `history` (oldest dropped first). */
export const GROUP_HISTORY_LIMIT = 10;

export interface GroupLinkChange {
  action: 'install' | 'uninstall';
  /** When DingTalk says it happened (ISO 8601). */
  at: string;
  operator?: string;
  coolAppCode?: string;
  robotCode?: string;
  eventId?: string;
}

export interface Group {
  tenantId: string;
  openConversationId: string;
  /** The group's current name, when a rename was seen. */
  title?: string;
  /** Version of `title`: event time in epoch ms. */
  titleAt?: number;
  chatId?: string;
  /** True while the tenant's cool app is installed in the group. */
  linked: boolean;
  /** Version of the link fields: event time in epoch ms. */
  linkAt?: number;
  coolAppCode?: string;
  robotCode?: string;
  /** Who made the last link change (DingTalk userId). */
  operator?: string;
  corpId?: string;
  openConversationCorpId?: string;
  /** Last install time (ISO 8601). */
  linkedAt?: string;
  /** Last uninstall time (ISO 8601). */
  unlinkedAt?: string;
  /** The latest link changes, oldest first, at most {@link GROUP_HISTORY_LIMIT}. */
  history: GroupLinkChange[];
  /** Set by the war-room feature when the group is an incident's war room. */
  warRoom?: { incidentId: string; title: string };
  /** When the bridge disbanded the group (a war room's `war_room.dismiss`, ISO 8601): no longer live. */
  disbandedAt?: string;
  updatedAt?: string;
}

/** What a rename event says. */
export interface TitleChange {
  openConversationId: string;
  title: string;
  /** Event time, epoch ms: the version compared against `titleAt`. */
  at: number;
  operator?: string;
  chatId?: string;
  corpId?: string;
  eventId?: string;
}

/** What an install or uninstall event says. */
export interface LinkChange {
  openConversationId: string;
  linked: boolean;
  /** Event time, epoch ms: the version compared against `linkAt`. */
  at: number;
  coolAppCode?: string;
  robotCode?: string;
  operator?: string;
  corpId?: string;
  openConversationCorpId?: string;
  eventId?: string;
}

/** `applied`: the item now reflects the change; `stale`: newer (or the same) state was already stored. */
export type ApplyResult = 'applied' | 'stale';

/**
 * Builds `SET a = :a, b = :b` for the defined values (the document client drops undefined values,
 * which would leave dangling placeholders). Names are always aliased (`#a`) to dodge reserved words.
 */
function setClauses(values: Record<string, unknown>) {
  const clauses: string[] = [];
  const names: Record<string, string> = {};
  const vals: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    clauses.push(`#${k} = :${k}`);
    names[`#${k}`] = k;
    vals[`:${k}`] = v;
  }
  return { clauses, names, vals };
}

function fromItem(item: Record<string, unknown>): Group {
  const { pk: _pk, sk, type: _type, ...rest } = item as Record<string, unknown> & { sk: string };
  return {
    ...(rest as Omit<Group, 'linked' | 'history' | 'openConversationId'>),
    openConversationId: (rest.openConversationId as string | undefined) ?? sk.slice(GROUP_SK_PREFIX.length),
    linked: rest.linked === true,
    history: Array.isArray(rest.history) ? (rest.history as GroupLinkChange[]) : [],
  };
}

/**
 * One group of a tenant, or undefined.
 *
 * @example
 * const g = await getGroup(table, 'acme', 'cidXXXX==');
 * if (g?.linked) send({ openConversationId: g.openConversationId, coolAppCode: g.coolAppCode });
 */
export async function getGroup(table: Table, tenantId: string, openConversationId: string): Promise<Group | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: groupKey(tenantId, openConversationId), ConsistentRead: true }));
  return r.Item ? fromItem(r.Item) : undefined;
}

/**
 * Marks a known group disbanded (`disbandedAt`, kept as first written); an unknown group is left
 * unwritten. Readers (the homepage) no longer take it for a live group.
 *
 * @example
 * await markGroupDisbanded(table, 'acme', 'cid==', Date.now());
 */
export async function markGroupDisbanded(table: Table, tenantId: string, openConversationId: string, nowMs: number): Promise<void> {
  const at = new Date(nowMs).toISOString();
  await tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: groupKey(tenantId, openConversationId),
        UpdateExpression: 'SET #d = if_not_exists(#d, :at), #u = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#d': 'disbandedAt', '#u': 'updatedAt' },
        ExpressionAttributeValues: { ':at': at },
      }),
    ),
  );
}

/**
 * The coolAppCode to send to a group with: the group's, while the tenant's cool app is installed
 * in it (the robot came into the group through the cool app); undefined otherwise.
 *
 * @example
 * await groupSend({ openConversationId, coolAppCode: await coolAppCodeOf(table, tenantId, openConversationId), ... });
 */
export async function coolAppCodeOf(table: Table, tenantId: string, openConversationId: string): Promise<string | undefined> {
  const g = await getGroup(table, tenantId, openConversationId);
  return g?.linked && g.coolAppCode ? g.coolAppCode : undefined;
}

/**
 * Every group of a tenant (linked or not), ordered by openConversationId; with `pages`, at most
 * that many Query pages (1 MB each) are read, so a reader's cost is bounded whatever the tenant has.
 *
 * @example
 * const linked = (await listGroups(table, 'acme')).filter((g) => g.linked);
 */
export async function listGroups(table: Table, tenantId: string, opts: { pages?: number; /** At most this many groups (with `pages: 1`). */ limit?: number } = {}): Promise<Group[] & { truncated?: boolean }> {
  const out: Group[] & { truncated?: boolean } = [];
  let start: Record<string, unknown> | undefined;
  let pages = 0;
  do {
    const r = await table.doc.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': chatsPk(tenantId), ':prefix': GROUP_SK_PREFIX },
        ExclusiveStartKey: start,
        // One more than asked: DynamoDB hands a LastEvaluatedKey back at the limit even when nothing follows.
        ...(opts.limit ? { Limit: opts.limit + 1 } : {}),
      }),
    );
    for (const item of r.Items ?? []) out.push(fromItem(item));
    start = r.LastEvaluatedKey;
  } while (start && ++pages < (opts.pages ?? Infinity));
  // Stopped with more to read: the caller says there are more than it counted.
  if (opts.limit && out.length > opts.limit) {
    out.length = opts.limit;
    out.truncated = true;
  }
  if (start) out.truncated = true;
  return out;
}

/**
 * Stores a group's new title unless a newer rename was stored already (`titleAt` >= change.at).
 * When the group is a war room, the war room's title follows.
 *
 * @example
 * await applyTitle(table, 'acme', { openConversationId: 'cid==', title: '支付告警群', at: 1764300000000 }, Date.now());
 */
export async function applyTitle(table: Table, tenantId: string, change: TitleChange, nowMs: number): Promise<ApplyResult> {
  const set = setClauses({
    type: 'group',
    tenantId,
    openConversationId: change.openConversationId,
    title: change.title,
    titleAt: change.at,
    titleOperator: change.operator,
    titleEventId: change.eventId,
    chatId: change.chatId,
    corpId: change.corpId,
    updatedAt: new Date(nowMs).toISOString(),
  });
  const write = table.doc.send(
    new UpdateCommand({
      TableName: table.name,
      Key: groupKey(tenantId, change.openConversationId),
      UpdateExpression: `SET ${set.clauses.join(', ')}`,
      ConditionExpression: 'attribute_not_exists(#titleAt) OR #titleAt < :titleAt',
      ExpressionAttributeNames: set.names,
      ExpressionAttributeValues: set.vals,
      ReturnValues: 'ALL_NEW',
    }),
  );
  if (!(await tryConditional(write))) return 'stale';
  const item: Record<string, unknown> | undefined = (await write).Attributes;
  const warRoom = item?.warRoom as { title?: unknown } | undefined;
  if (warRoom && typeof warRoom === 'object' && warRoom.title !== change.title) {
    await tryConditional(
      table.doc.send(
        new UpdateCommand({
          TableName: table.name,
          Key: groupKey(tenantId, change.openConversationId),
          UpdateExpression: 'SET #warRoom.#title = :title',
          // Only while this rename is still the newest: a later rename sets its own title.
          ConditionExpression: 'attribute_exists(#warRoom) AND #titleAt = :at',
          ExpressionAttributeNames: { '#warRoom': 'warRoom', '#title': 'title', '#titleAt': 'titleAt' },
          ExpressionAttributeValues: { ':title': change.title, ':at': change.at },
        }),
      ),
    );
  }
  return 'applied';
}

/**
 * Records a cool-app install (`linked: true`) or uninstall (`linked: false`) unless a newer link
 * change was stored already (`linkAt` >= change.at). Uninstall keeps the last coolAppCode and the
 * history; `linkedAt` / `unlinkedAt` keep the latest time of each.
 *
 * @example
 * await applyLink(table, 'acme', { openConversationId: 'cid==', linked: true, at: 1764300000000, coolAppCode: 'COOLAPP-1' }, Date.now());
 */
export async function applyLink(table: Table, tenantId: string, change: LinkChange, nowMs: number): Promise<ApplyResult> {
  const at = new Date(change.at).toISOString();
  const entry: GroupLinkChange = {
    action: change.linked ? 'install' : 'uninstall',
    at,
    ...(change.operator !== undefined && { operator: change.operator }),
    ...(change.coolAppCode !== undefined && { coolAppCode: change.coolAppCode }),
    ...(change.robotCode !== undefined && { robotCode: change.robotCode }),
    ...(change.eventId !== undefined && { eventId: change.eventId }),
  };
  const set = setClauses({
    type: 'group',
    tenantId,
    openConversationId: change.openConversationId,
    linked: change.linked,
    linkAt: change.at,
    coolAppCode: change.coolAppCode,
    robotCode: change.robotCode,
    operator: change.operator,
    corpId: change.corpId,
    openConversationCorpId: change.openConversationCorpId,
    [change.linked ? 'linkedAt' : 'unlinkedAt']: at,
    updatedAt: new Date(nowMs).toISOString(),
  });
  const write = table.doc.send(
    new UpdateCommand({
      TableName: table.name,
      Key: groupKey(tenantId, change.openConversationId),
      UpdateExpression: `SET ${[...set.clauses, '#history = list_append(if_not_exists(#history, :empty), :entry)'].join(', ')}`,
      ConditionExpression: 'attribute_not_exists(#linkAt) OR #linkAt < :linkAt',
      ExpressionAttributeNames: { ...set.names, '#history': 'history' },
      ExpressionAttributeValues: { ...set.vals, ':empty': [], ':entry': [entry] },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  if (!(await tryConditional(write))) return 'stale';
  const history = ((await write).Attributes?.history as unknown[] | undefined) ?? [];
  await trimHistory(table, tenantId, change.openConversationId, history.length);
  return 'applied';
}

/** Drops the oldest history entries beyond the limit, if the list is still the length we saw. */
async function trimHistory(table: Table, tenantId: string, openConversationId: string, length: number): Promise<void> {
  const excess = length - GROUP_HISTORY_LIMIT;
  if (excess <= 0) return;
  const paths = Array.from({ length: excess }, (_, i) => `#history[${i}]`);
  // Refused when another change got in between; the next write trims again.
  await tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: groupKey(tenantId, openConversationId),
        UpdateExpression: `REMOVE ${paths.join(', ')}`,
        ConditionExpression: 'size(#history) = :len',
        ExpressionAttributeNames: { '#history': 'history' },
        ExpressionAttributeValues: { ':len': length },
      }),
    ),
  );
}
