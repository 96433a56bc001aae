import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { cardSecretKey } from '../contracts/tableKeys';
import { TENANT_ID_PATTERN } from '../contracts/tenant';
import { tryConditional, type Table } from './table';

/**
 * The card callback's secret item (docs/two-way.md, "Cards", "Callback route"):
 * `SECRET#CARD#<tenantId>` with `apiSecret`, `routeKey`, `callbackUrl`, `registeredAt`. The sender
 * writes it when it registers the route (lib/cards/registration.ts); the card callback reads it to
 * check a press's signature (docs/dingtalk-api.md §9.4). Never logged.
 */
export interface CardSecret {
  apiSecret: string;
  /** The route key cards are created with; absent on items written before keys had a random part. */
  routeKey?: string;
  /** Where the route was registered (absent only on items a test writes). */
  callbackUrl?: string;
  /** When DingTalk accepted the registration (ISO); absent while it has not yet. */
  registeredAt?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** The tenant's card secret, or undefined (one GetItem, strongly consistent when asked; an id that is no tenant's is never looked up). */
export async function getCardSecret(table: Table, tenantId: string, consistent = false): Promise<CardSecret | undefined> {
  if (!TENANT_ID_PATTERN.test(tenantId)) return undefined;
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: cardSecretKey(tenantId), ConsistentRead: consistent }));
  const apiSecret = str(r.Item?.apiSecret);
  if (!apiSecret) return undefined;
  const [routeKey, callbackUrl, registeredAt] = [str(r.Item?.routeKey), str(r.Item?.callbackUrl), str(r.Item?.registeredAt)];
  return { apiSecret, ...(routeKey && { routeKey }), ...(callbackUrl && { callbackUrl }), ...(registeredAt && { registeredAt }) };
}

/** Records a card secret as it is (tests; the sender uses the conditional writes below). */
export async function putCardSecret(table: Table, tenantId: string, secret: CardSecret): Promise<void> {
  await table.doc.send(new PutCommand({ TableName: table.name, Item: { ...cardSecretKey(tenantId), type: 'cardSecret', tenantId, ...secret } }));
}

/** A new secret for `callbackUrl`, unless one for that URL is stored already (another instance's): whichever is stored wins. */
export async function putCardSecretFor(table: Table, tenantId: string, secret: Required<Pick<CardSecret, 'apiSecret' | 'routeKey' | 'callbackUrl'>>, nowMs: number): Promise<boolean> {
  return tryConditional(
    table.doc.send(
      new PutCommand({
        TableName: table.name,
        Item: { ...cardSecretKey(tenantId), type: 'cardSecret', tenantId, ...secret, createdAt: new Date(nowMs).toISOString() },
        ConditionExpression: 'attribute_not_exists(pk) OR callbackUrl <> :url',
        ExpressionAttributeValues: { ':url': secret.callbackUrl },
      }),
    ),
  );
}

/**
 * Sets attributes of the stored item while it still holds `expect` (its secret, and the other
 * attributes given): a route key for an item from before keys had a random part, or the mark that
 * DingTalk accepted the registration.
 */
export async function updateCardSecret(table: Table, tenantId: string, expect: Partial<CardSecret> & { apiSecret: string }, set: Partial<CardSecret>, remove: Array<keyof CardSecret> = []): Promise<boolean> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets = Object.entries(set).map(([k, v], i) => ((names[`#s${i}`] = k), (values[`:s${i}`] = v), `#s${i} = :s${i}`));
  const conds = Object.entries(expect).map(([k, v], i) => ((names[`#e${i}`] = k), (values[`:e${i}`] = v), `#e${i} = :e${i}`));
  const removes = remove.map((k, i) => ((names[`#r${i}`] = k), `#r${i}`));
  if (!('routeKey' in expect) && 'routeKey' in set) conds.push('attribute_not_exists(routeKey)');
  return tryConditional(
    table.doc.send(
      new UpdateCommand({
        TableName: table.name,
        Key: cardSecretKey(tenantId),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: conds.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    ),
  );
}
