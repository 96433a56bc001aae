import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { linkSecretKey } from '../contracts/tableKeys';
import { tryConditional, type Table } from './table';

/**
 * The key that signs a tenant's link URLs (docs/two-way.md, "Linking"), `SECRET#LINK#<tenantId>`:
 * 32 random bytes, created by the first mint and never changed after (deleting the item voids every
 * link URL already sent). Read by the link function, written only where URLs are minted (the CLI).
 */

/** Bytes of a link-signing key. */
export const LINK_KEY_BYTES = 32;

/** The tenant's link-signing key, or undefined when no URL was ever minted for it (one GetItem). */
export async function getLinkKey(table: Table, tenantId: string): Promise<Buffer | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: linkSecretKey(tenantId), ConsistentRead: true }));
  const key = r.Item?.key;
  return typeof key === 'string' && key ? Buffer.from(key, 'base64') : undefined;
}

/**
 * The tenant's link-signing key, created on first use: a conditional put, so two first mints at
 * once end with the same key (the loser reads the winner's).
 *
 * @example
 * const key = await ensureLinkKey(table, 'acme', Date.now());
 */
export async function ensureLinkKey(table: Table, tenantId: string, nowMs: number): Promise<Buffer> {
  const existing = await getLinkKey(table, tenantId);
  if (existing) return existing;
  const key = randomBytes(LINK_KEY_BYTES);
  const put = table.doc.send(
    new PutCommand({
      TableName: table.name,
      Item: { ...linkSecretKey(tenantId), type: 'linkSecret', tenantId, key: key.toString('base64'), createdAt: new Date(nowMs).toISOString() },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  if (await tryConditional(put)) return key;
  // Another first mint won: its key is the one.
  const theirs = await getLinkKey(table, tenantId);
  if (!theirs) throw new Error(`link key of ${tenantId} vanished while it was being created`);
  return theirs;
}
