import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { cardSecretKey } from '../contracts/tableKeys';
import { TENANT_ID_PATTERN } from '../contracts/tenant';
import type { Table } from './table';

/**
 * The card callback's apiSecret (docs/two-way.md, "Cards", "Callback route"): `SECRET#CARD#<tenantId>`,
 * written when the route is registered with DingTalk, read by the card callback to check a press's
 * signature (docs/dingtalk-api.md §9.4). Never logged.
 */
export interface CardSecret {
  apiSecret: string;
  /** The route key registered with DingTalk (`dtb-<tenantId>-<8 hex>`, lib/cards/registration.ts). */
  routeKey?: string;
  callbackUrl?: string;
  registeredAt?: string;
}

/** The tenant's card callback secret, or undefined (one GetItem; an id that is no tenant's is never looked up). */
export async function getCardSecret(table: Table, tenantId: string): Promise<CardSecret | undefined> {
  if (!TENANT_ID_PATTERN.test(tenantId)) return undefined;
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: cardSecretKey(tenantId) }));
  if (!r.Item || typeof r.Item.apiSecret !== 'string' || !r.Item.apiSecret) return undefined;
  const { apiSecret, routeKey, callbackUrl, registeredAt } = r.Item;
  return { apiSecret, routeKey: routeKey as string | undefined, callbackUrl: callbackUrl as string | undefined, registeredAt: registeredAt as string | undefined };
}

/** Records the card callback secret (the last registration wins). */
export async function putCardSecret(table: Table, tenantId: string, secret: CardSecret): Promise<void> {
  await table.doc.send(new PutCommand({ TableName: table.name, Item: { ...cardSecretKey(tenantId), type: 'cardSecret', tenantId, ...secret } }));
}
