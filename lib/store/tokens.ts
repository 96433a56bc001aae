import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { tokenKey, tokenLeaseKey } from '../contracts/tableKeys';
import { tryConditional, ttlAfter, type Table } from './table';

/**
 * Access tokens per app, shared by every Lambda instance:
 * - `APP#<clientId>` / `TOKEN`: the current token and when it expires;
 * - `APP#<clientId>` / `TOKEN_LEASE`: who is refreshing it (a conditional-write lease, so one
 *   instance at a time calls the token endpoint).
 * Both expire through the table's TTL shortly after they stop being useful.
 */

export interface StoredToken {
  accessToken: string;
  /** Epoch ms when DingTalk stops accepting it. */
  expiresAtMs: number;
}

export async function readToken(table: Table, clientId: string): Promise<StoredToken | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: tokenKey(clientId), ConsistentRead: true }));
  const item = r.Item;
  if (!item || typeof item.accessToken !== 'string' || typeof item.expiresAtMs !== 'number') return undefined;
  return { accessToken: item.accessToken, expiresAtMs: item.expiresAtMs };
}

export async function writeToken(table: Table, clientId: string, token: StoredToken, nowMs: number): Promise<void> {
  await table.doc.send(
    new PutCommand({
      TableName: table.name,
      Item: {
        ...tokenKey(clientId),
        type: 'token',
        accessToken: token.accessToken,
        expiresAtMs: token.expiresAtMs,
        refreshedAt: new Date(nowMs).toISOString(),
        expiresAt: Math.ceil(token.expiresAtMs / 1000) + 3600,
      },
    }),
  );
}

/**
 * Takes the refresh lease for `leaseMs` when nobody holds a live one. Returns false when another
 * instance holds it.
 */
export async function acquireRefreshLease(table: Table, clientId: string, owner: string, nowMs: number, leaseMs: number): Promise<boolean> {
  return tryConditional(
    table.doc.send(
      new PutCommand({
        TableName: table.name,
        Item: { ...tokenLeaseKey(clientId), type: 'tokenLease', owner, leaseUntilMs: nowMs + leaseMs, expiresAt: ttlAfter(nowMs + leaseMs, 3600) },
        ConditionExpression: 'attribute_not_exists(pk) OR leaseUntilMs < :now OR #o = :owner',
        ExpressionAttributeNames: { '#o': 'owner' },
        ExpressionAttributeValues: { ':now': nowMs, ':owner': owner },
      }),
    ),
  );
}

/** Gives the lease back (only when we still hold it). */
export async function releaseRefreshLease(table: Table, clientId: string, owner: string): Promise<void> {
  await tryConditional(
    table.doc.send(
      new DeleteCommand({
        TableName: table.name,
        Key: tokenLeaseKey(clientId),
        ConditionExpression: '#o = :owner',
        ExpressionAttributeNames: { '#o': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      }),
    ),
  );
}
