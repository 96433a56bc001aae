import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { appSecretKey, callbackSecretKey, clientClaimKey, flashdutySecretKey, tenantKey } from '../contracts/tableKeys';
import { TENANT_ID_PATTERN, tenantSchema, type Tenant } from '../contracts/tenant';
import { BridgeError } from '../errors';
import type { Table } from './table';

/**
 * A tenant's secrets live apart from its record, each kind in a partition of its own, so IAM
 * `dynamodb:LeadingKeys` conditions decide who may read them (docs/DESIGN.md, "Table map"):
 * - `SECRET#CALLBACK#<tenantId>`: what the callback needs to verify and answer a push (aesKey,
 *   token, and the receiver id); read by the callback only. Further callback secrets (a previous
 *   pair during a rotation) are fields of this same item: add them to {@link CALLBACK_FIELDS}.
 * - `SECRET#APP#<tenantId>`: the clientSecret, read by the sending functions only.
 * - `SECRET#FLASHDUTY#<tenantId>`: the Flashduty APP Key (`flashdutyAppKey`), read by the actions
 *   function only; absent when the tenant has none.
 * - `CLIENT#<clientId>`: which tenant registered the app, so a second tenant cannot take it.
 * The tenant item `TENANT#<tenantId>` keeps every other field and is what non-secret readers get.
 */

/** Fields of the callback's secret item (besides tenantId and clientId). */
export const CALLBACK_FIELDS = ['aesKey', 'token', 'previousAesKey', 'previousToken'] as const;
/** Fields of the app's secret item. */
export const APP_FIELDS = ['clientSecret'] as const;

const SECRET = { clientSecret: true, aesKey: true, token: true, previousAesKey: true, previousToken: true, flashdutyAppKey: true } as const;

/** The tenant record without its secrets: what the tenant item holds and non-secret readers see. */
export const tenantRecordSchema = tenantSchema.omit(SECRET);
export type TenantRecord = Omit<Tenant, keyof typeof SECRET>;

/** The record's attribute names: a GetItem projected on them never returns a secret, whatever the item holds. */
export const RECORD_FIELDS = Object.keys(tenantRecordSchema.shape);

/** What the callback reads: enough to check a push and seal the answer. */
export type CallbackApp = Pick<Tenant, 'tenantId' | 'clientId' | (typeof CALLBACK_FIELDS)[number]>;

/** What the sending functions read: the record and the app secret (for access tokens). */
export type AppTenant = TenantRecord & Pick<Tenant, 'clientSecret'>;

/** The listed fields that are set (any type: a later callback secret may be a date or a number). */
const pick = (o: object, keys: readonly string[]): Record<string, unknown> => Object.fromEntries(keys.filter((k) => (o as Record<string, unknown>)[k] !== undefined).map((k) => [k, (o as Record<string, unknown>)[k]]));

/** The record, as the tenant item stores it. */
export function recordOf(tenant: Tenant): TenantRecord {
  const { clientSecret: _s, aesKey: _a, token: _t, previousAesKey: _pa, previousToken: _pt, flashdutyAppKey: _f, ...record } = tenant;
  return record;
}

/** A ProjectionExpression over the record's fields (names escaped: some are reserved words). */
export const recordProjection = () => ({
  ProjectionExpression: RECORD_FIELDS.map((_, i) => `#f${i}`).join(', '),
  ExpressionAttributeNames: Object.fromEntries(RECORD_FIELDS.map((f, i) => [`#f${i}`, f])),
});

/**
 * The callback's view of a tenant, or undefined when there is no such tenant (one GetItem).
 *
 * @example
 * const app = await getCallbackApp(table, 'acme'); // { tenantId, clientId, aesKey, token }
 */
export async function getCallbackApp(table: Table, tenantId: string): Promise<CallbackApp | undefined> {
  if (!TENANT_ID_PATTERN.test(tenantId)) return undefined;
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: callbackSecretKey(tenantId) }));
  if (!r.Item) return undefined;
  return { tenantId, clientId: String(r.Item.clientId), ...pick(r.Item, CALLBACK_FIELDS) } as CallbackApp;
}

/** The tenant's clientSecret, or undefined (one GetItem). */
export async function getAppSecret(table: Table, tenantId: string): Promise<string | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: appSecretKey(tenantId) }));
  return r.Item ? String(r.Item.clientSecret) : undefined;
}

/** The tenant's Flashduty APP Key, or undefined (one GetItem; the actions function only). */
export async function getFlashdutyAppKey(table: Table, tenantId: string): Promise<string | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: flashdutySecretKey(tenantId) }));
  return r.Item && typeof r.Item.appKey === 'string' && r.Item.appKey ? r.Item.appKey : undefined;
}

/**
 * The record with its app secret, for the sending functions: two GetItems, made together.
 *
 * @example
 * const tenant = await withAppSecret(table, 'acme', getTenant);
 */
export async function withAppSecret(table: Table, tenantId: string, getRecord: (id: string) => Promise<TenantRecord | undefined>): Promise<AppTenant | undefined> {
  const [record, clientSecret] = await Promise.all([getRecord(tenantId), getAppSecret(table, tenantId)]);
  if (!record) return undefined;
  if (clientSecret === undefined) throw new Error(`tenant ${tenantId} has no app secret item: run "npm run tenant -- migrate"`);
  return { ...record, clientSecret };
}

/** A second tenant asked for a Client ID another tenant registered. */
export class ClientIdTakenError extends BridgeError {
  constructor(clientId: string, owner: string) {
    super(`Client ID ${clientId} is already registered to tenant ${owner}: one DingTalk app serves one tenant (delete ${owner} first, or use its tenant id)`, 409, 'conflict');
  }
}

type Write = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/**
 * The writes that store a tenant: record, secret items and the Client ID claim (conditional). The
 * Flashduty APP Key item is written when the tenant has one and deleted when it has none.
 */
export function tenantPuts(table: Table, tenant: Tenant, updatedAt: string): Write[] {
  const who = { tenantId: tenant.tenantId, clientId: tenant.clientId, updatedAt };
  const flashduty = flashdutySecretKey(tenant.tenantId);
  return [
    { Put: { TableName: table.name, Item: { ...tenantKey(tenant.tenantId), type: 'tenant', ...recordOf(tenant), updatedAt } } },
    { Put: { TableName: table.name, Item: { ...callbackSecretKey(tenant.tenantId), type: 'callbackSecret', ...who, ...pick(tenant, CALLBACK_FIELDS) } } },
    { Put: { TableName: table.name, Item: { ...appSecretKey(tenant.tenantId), type: 'appSecret', ...who, ...pick(tenant, APP_FIELDS) } } },
    claimPut(table, tenant.tenantId, tenant.clientId, updatedAt),
    tenant.flashdutyAppKey
      ? { Put: { TableName: table.name, Item: { ...flashduty, type: 'flashdutySecret', tenantId: tenant.tenantId, appKey: tenant.flashdutyAppKey, updatedAt } } }
      : { Delete: { TableName: table.name, Key: flashduty } },
  ];
}

/** The Client ID claim: written when the app is free or already this tenant's. */
export const claimPut = (table: Table, tenantId: string, clientId: string, updatedAt: string): Write => ({
  Put: {
    TableName: table.name,
    Item: { ...clientClaimKey(clientId), type: 'clientClaim', tenantId, clientId, updatedAt },
    ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :t',
    ExpressionAttributeValues: { ':t': tenantId },
  },
});

/** Frees a Client ID this tenant holds (nothing when another tenant holds it). */
export const claimDelete = (table: Table, tenantId: string, clientId: string): Write => ({
  Delete: { TableName: table.name, Key: clientClaimKey(clientId), ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :t', ExpressionAttributeValues: { ':t': tenantId } },
});

/** The tenant registered under a Client ID, if any. */
export async function clientOwner(table: Table, clientId: string): Promise<string | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: clientClaimKey(clientId), ConsistentRead: true }));
  return r.Item ? String(r.Item.tenantId) : undefined;
}

/**
 * Runs a TransactWriteItems that includes a claim put; a refused claim becomes
 * {@link ClientIdTakenError} naming the tenant that holds the app.
 */
export async function writeClaiming(table: Table, items: Write[], clientId: string): Promise<void> {
  try {
    await table.doc.send(new TransactWriteCommand({ TransactItems: items }));
  } catch (e) {
    const reasons = (e as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
    const at = items.findIndex((i) => i.Put?.Item?.type === 'clientClaim');
    if (at >= 0 && reasons?.[at]?.Code === 'ConditionalCheckFailed') throw new ClientIdTakenError(clientId, (await clientOwner(table, clientId)) ?? 'another tenant');
    throw e;
  }
}

/**
 * A tenant item not yet migrated, read whole with its secrets (the operator's CLI only: no function
 * may read them, infra/grants.ts), or undefined when there is none or it holds no full tenant.
 *
 * @example
 * const before = await getUnmigratedTenant(table, 'acme');
 */
export async function getUnmigratedTenant(table: Table, tenantId: string): Promise<Tenant | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: tenantKey(tenantId), ConsistentRead: true }));
  if (!r.Item) return undefined;
  const { pk: _pk, sk: _sk, type: _type, updatedAt: _u, ...fields } = r.Item;
  const parsed = tenantSchema.safeParse(fields);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The whole tenant, secrets included: for the operator's CLI (`get` masks them, `push` signs with them).
 *
 * @example
 * const t = await getFullTenant(table, 'acme', getTenant);
 */
export async function getFullTenant(table: Table, tenantId: string, getRecord: (id: string) => Promise<TenantRecord | undefined>): Promise<Tenant | undefined> {
  const [record, callback, clientSecret, flashdutyAppKey] = await Promise.all([getRecord(tenantId), getCallbackApp(table, tenantId), getAppSecret(table, tenantId), getFlashdutyAppKey(table, tenantId)]);
  if (!record) return undefined;
  if (!callback || clientSecret === undefined) throw new BridgeError(`tenant ${tenantId} has no secret items: run "npm run tenant -- migrate"`, 409, 'not_migrated');
  return tenantSchema.parse({ ...record, ...pick(callback, CALLBACK_FIELDS), clientSecret, ...(flashdutyAppKey && { flashdutyAppKey }) });
}
