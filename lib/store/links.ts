import { DeleteCommand, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { linkPk, memberLinkKey, usedLinkKey, userLinkKey } from '../contracts/tableKeys';
import { batchGetAll, tryConditional, type Table } from './table';

/**
 * Links between a tenant's DingTalk users and Flashduty members (docs/two-way.md, "Linking"): two
 * items per link under `LINK#<tenantId>`, `USER#<userId>` -> member and `MEMBER#<memberId>` ->
 * user, written together. A member links one DingTalk user and a user one member: linking again
 * replaces the old pairing on both sides. A link URL links once: `USED#<signature>` records its use,
 * in the same transaction as the link, kept until the URL expires.
 */

/** The link URL whose use a link records: its signature, and its expiry (epoch s, the record's TTL). */
export interface UsedLinkUrl {
  signature: string;
  expiresAt: number;
}
export interface Link {
  memberId: string;
  userId: string;
  /** The DingTalk user's name when the link was made (shown on cards as who acted). */
  name?: string;
  linkedAt: string;
}

const toLink = (item: Record<string, unknown> | undefined): Link | undefined =>
  item && typeof item.memberId === 'string' && typeof item.userId === 'string'
    ? { memberId: item.memberId, userId: item.userId, name: typeof item.name === 'string' ? item.name : undefined, linkedAt: String(item.linkedAt) }
    : undefined;

/** The link of a DingTalk user, or undefined (one GetItem). */
export async function getUserLink(table: Table, tenantId: string, userId: string): Promise<Link | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: userLinkKey(tenantId, userId) }));
  return toLink(r.Item);
}

/** The links of these members, by memberId; unlinked members are absent (BatchGetItem, 100 a request). */
export async function getMemberLinks(table: Table, tenantId: string, memberIds: readonly string[]): Promise<Map<string, Link>> {
  const items = await batchGetAll(table, [...new Set(memberIds)].map((m) => memberLinkKey(tenantId, m)));
  const out = new Map<string, Link>();
  for (const item of items) {
    const link = toLink(item);
    if (link) out.set(link.memberId, link);
  }
  return out;
}

/** Whether the link URL of this signature was used already (one consistent GetItem). */
export async function isLinkUrlUsed(table: Table, tenantId: string, signature: string): Promise<boolean> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: usedLinkKey(tenantId, signature), ConsistentRead: true }));
  return r.Item !== undefined;
}

/**
 * Forgets a link URL's use, if this user's link made it (a link recorded but never published: the
 * member may open the URL again).
 */
export async function forgetLinkUrlUse(table: Table, tenantId: string, signature: string, userId: string): Promise<void> {
  await tryConditional(table.doc.send(new DeleteCommand({ TableName: table.name, Key: usedLinkKey(tenantId, signature), ConditionExpression: 'userId = :u', ExpressionAttributeValues: { ':u': userId } })));
}

/**
 * Records a link, replacing what the member and the user were linked to before (both sides, in one
 * transaction). With `url`, the same transaction records the URL's use on condition that it was
 * not used: when another use won, nothing is written and the answer is `{ used: true }`. Returns
 * the links it replaced, so the caller can say so.
 *
 * @example
 * await putLink(table, 'acme', { memberId: '2476444212131', userId: 'manager4220', name: '张三', linkedAt: new Date().toISOString() });
 */
export async function putLink(table: Table, tenantId: string, link: Link, url?: UsedLinkUrl): Promise<{ used?: true; replacedUser?: string; replacedMember?: string }> {
  // Both halves in one consistent read, so a pairing written just before is seen and replaced whole.
  const found = await batchGetAll(table, [userLinkKey(tenantId, link.userId), memberLinkKey(tenantId, link.memberId)]);
  const byUser = toLink(found.find((i) => i.sk === userLinkKey(tenantId, link.userId).sk));
  const byMember = toLink(found.find((i) => i.sk === memberLinkKey(tenantId, link.memberId).sk));
  const items = [
    { Put: { TableName: table.name, Item: { ...userLinkKey(tenantId, link.userId), type: 'link', ...link } } },
    { Put: { TableName: table.name, Item: { ...memberLinkKey(tenantId, link.memberId), type: 'link', ...link } } },
  ] as Array<Record<string, unknown>>;
  // The member's old user and the user's old member lose their half of the old pairing.
  if (byMember && byMember.userId !== link.userId) items.push({ Delete: { TableName: table.name, Key: userLinkKey(tenantId, byMember.userId) } });
  if (byUser && byUser.memberId !== link.memberId) items.push({ Delete: { TableName: table.name, Key: memberLinkKey(tenantId, byUser.memberId) } });
  if (url) {
    const use = { ...usedLinkKey(tenantId, url.signature), type: 'linkUse', memberId: link.memberId, userId: link.userId, usedAt: link.linkedAt, expiresAt: url.expiresAt };
    items.unshift({ Put: { TableName: table.name, Item: use, ConditionExpression: 'attribute_not_exists(pk)' } });
  }
  try {
    await table.doc.send(new TransactWriteCommand({ TransactItems: items as never }));
  } catch (e) {
    const reasons = (e as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
    if (url && reasons?.[0]?.Code === 'ConditionalCheckFailed') return { used: true };
    throw e;
  }
  return {
    replacedUser: byMember && byMember.userId !== link.userId ? byMember.userId : undefined,
    replacedMember: byUser && byUser.memberId !== link.memberId ? byUser.memberId : undefined,
  };
}

/**
 * Every link of a tenant, one per member (its `MEMBER#` items, a paged Query), by member id.
 *
 * @example
 * const links = await listLinks(table, 'acme'); // [{ memberId, userId, name, linkedAt }, ...]
 */
export async function listLinks(table: Table, tenantId: string): Promise<Link[]> {
  const out: Link[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await table.doc.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :member)',
        ExpressionAttributeValues: { ':pk': linkPk(tenantId), ':member': memberLinkKey(tenantId, '').sk },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of r.Items ?? []) {
      const link = toLink(item);
      if (link) out.push(link);
    }
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}
