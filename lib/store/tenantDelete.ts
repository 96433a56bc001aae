import { ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import {
  actionKey,
  appSecretKey,
  cardKey,
  cardSecretKey,
  incidentPk,
  pressKey,
  backlogPk,
  callbackSecretKey,
  chatsPk,
  clientClaimKey,
  eventCountKey,
  eventDedupeKey,
  flashdutySecretKey,
  GROUP_SK_PREFIX,
  laneKey,
  linkPk,
  linkSecretKey,
  messagePk,
  mobileKey,
  parkedCountKey,
  parkedOrgKey,
  parkPk,
  quotaKey,
  rateKey,
  TENANT_SK,
  tenantPk,
  tokenKey,
  warRoomKey,
  type ItemKey,
} from '../contracts/tableKeys';
import type { Tenant } from '../contracts/tenant';

/** What a deletion needs to know of a tenant (its record; no secret). */
type Owner = Pick<Tenant, 'tenantId' | 'corpId' | 'clientId'>;
import { countUpdate } from '../quota/parking';
import { batchWriteAll, type Table } from './table';

/** An item a tenant's deletion removes, and what kind of item it is (for the count printed). */
export interface OwnedItem extends ItemKey {
  kind: string;
  /** A counted parked message of an organisation another tenant keeps: its count goes down with it. */
  counted?: { corpId: string; expiresAt: number };
}

type Item = Record<string, unknown>;

/** Items under `pk` (or, with `prefix`, any pk starting so) that `owns` accepts are of `kind`. */
interface Rule {
  kind: string;
  pk: string;
  prefix?: boolean;
  owns?: (item: Item) => boolean;
}

const skStarts = (prefix: string) => (i: Item) => String(i.sk).startsWith(prefix);

/** The tenant a parked message was parked for: its body is the notify message. */
function tenantOfParked(item: Item): unknown {
  try {
    return (JSON.parse(String(item.body)) as { tenantId?: unknown }).tenantId;
  } catch {
    return undefined;
  }
}

/**
 * What belongs to `tenant` (docs/DESIGN.md, "Table map"): its record, secret items and Client ID
 * claim, its groups and war rooms, event dedupe and
 * delivery records, its links, cards, incidents, button presses and actions, its parked and backlogged messages; its app's token, rate limiter and lane
 * unless another tenant has the same clientId; its organisation's counters, mobile cache and parked
 * list entry unless another tenant has the same corpId.
 */
function rulesFor(tenant: Owner, others: readonly Owner[]): Rule[] {
  const { tenantId, corpId, clientId } = tenant;
  const appShared = others.some((o) => o.clientId === clientId);
  const corpShared = others.some((o) => o.corpId === corpId);
  const own = tenantPk(tenantId);
  const rules: Rule[] = [
    { kind: 'tenant', pk: own, owns: (i) => i.sk === TENANT_SK },
    { kind: 'secrets', pk: callbackSecretKey(tenantId).pk },
    { kind: 'secrets', pk: appSecretKey(tenantId).pk },
    { kind: 'secrets', pk: flashdutySecretKey(tenantId).pk },
    { kind: 'secrets', pk: linkSecretKey(tenantId).pk },
    { kind: 'links', pk: linkPk(tenantId) },
    { kind: 'secrets', pk: cardSecretKey(tenantId).pk },
    { kind: 'cards', pk: cardKey(tenantId, '').pk },
    { kind: 'incidents and their cards', pk: incidentPk(tenantId, ''), prefix: true },
    { kind: 'button presses', pk: pressKey(tenantId, '').pk },
    { kind: 'actions handed to Flashduty', pk: actionKey(tenantId, '').pk, prefix: true },
    { kind: 'Client ID claim', pk: clientClaimKey(clientId).pk, owns: (i) => i.tenantId === tenantId },
    { kind: 'groups', pk: chatsPk(tenantId), owns: skStarts(GROUP_SK_PREFIX) },
    { kind: 'war rooms', pk: chatsPk(tenantId), owns: skStarts(warRoomKey(tenantId, '').sk) },
    // Where a tenant not yet migrated (`tenant migrate`) still keeps them.
    { kind: 'groups', pk: own, owns: skStarts(GROUP_SK_PREFIX) },
    { kind: 'war rooms', pk: own, owns: skStarts('WARROOM#') },
    { kind: 'event dedupe records', pk: eventDedupeKey(tenantId, '').pk, prefix: true },
    { kind: 'delivery records', pk: messagePk(tenantId, ''), prefix: true },
    { kind: 'parked messages', pk: parkPk(corpId), owns: (i) => !corpShared || tenantOfParked(i) === tenantId },
    { kind: 'backlog messages', pk: backlogPk(clientId), owns: (i) => !appShared || i.tenantId === tenantId },
  ];
  if (!appShared) {
    rules.push(
      { kind: 'access tokens', pk: tokenKey(clientId).pk },
      { kind: 'rate limiter states', pk: rateKey(clientId, '').pk, prefix: true },
      { kind: 'lane', pk: laneKey(clientId).pk, owns: (i) => i.sk === laneKey(clientId).sk },
    );
  }
  if (!corpShared) {
    rules.push(
      { kind: 'monthly call counters', pk: quotaKey(corpId, '').pk, owns: skStarts(quotaKey(corpId, '').sk) },
      { kind: 'monthly event counts', pk: eventCountKey(corpId, '').pk, owns: skStarts(eventCountKey(corpId, '').sk) },
      { kind: 'monthly event counts', pk: quotaKey(corpId, '').pk, owns: skStarts('EVENTS#') },
      { kind: 'parked-organisation entry', pk: parkedOrgKey(corpId).pk, owns: (i) => i.sk === parkedOrgKey(corpId).sk },
      { kind: 'parked count', pk: parkedCountKey(corpId).pk, owns: (i) => i.sk === parkedCountKey(corpId).sk },
      { kind: 'mobile cache entries', pk: mobileKey(corpId, '').pk },
    );
  }
  return rules;
}

/**
 * Every item a deletion of `tenant` removes, found with one scan of the table (event dedupe and
 * delivery records are keyed by tenant in their partition key, so no query finds them all).
 * `others` are the remaining tenants: what they share with it is kept.
 *
 * @example
 * const items = await tenantItems(table, tenant, (await listTenants(table)).filter((t) => t.tenantId !== tenant.tenantId));
 */
export async function tenantItems(table: Table, tenant: Owner, others: readonly Owner[]): Promise<OwnedItem[]> {
  const rules = rulesFor(tenant, others);
  const values: Record<string, string> = {};
  const terms = rules.map((r, n) => {
    values[`:p${n}`] = r.pk;
    return r.prefix ? `begins_with(pk, :p${n})` : `pk = :p${n}`;
  });
  const out: OwnedItem[] = [];
  let start: Item | undefined;
  do {
    const page = await table.doc.send(
      new ScanCommand({ TableName: table.name, FilterExpression: terms.join(' OR '), ExpressionAttributeValues: values, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    for (const item of page.Items ?? []) {
      const pk = String(item.pk);
      const rule = rules.find((r) => (r.prefix ? pk.startsWith(r.pk) : pk === r.pk) && (r.owns?.(item) ?? true));
      if (!rule) continue;
      const counted = rule.kind === 'parked messages' && others.some((o) => o.corpId === tenant.corpId) && typeof item.expiresAt === 'number';
      out.push({ kind: rule.kind, pk, sk: String(item.sk), ...(counted ? { counted: { corpId: tenant.corpId, expiresAt: item.expiresAt as number } } : {}) });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

/**
 * Deletes the items, the tenant record last: a deletion that fails half-way can be run again. A
 * counted parked message of a shared organisation is deleted with its count taken down in one
 * transaction, conditional on it still being there (one unpark removed meanwhile was uncounted then).
 *
 * @example
 * await removeItems(table, await tenantItems(table, tenant, others));
 */
export async function removeItems(table: Table, items: readonly OwnedItem[]): Promise<void> {
  const del = (xs: OwnedItem[]) => batchWriteAll(table, xs.map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } })));
  for (const { pk, sk, counted } of items.filter((i) => i.counted)) {
    const remove = { Delete: { TableName: table.name, Key: { pk, sk }, ConditionExpression: 'attribute_exists(pk)' } };
    await table.doc.send(new TransactWriteCommand({ TransactItems: [remove, countUpdate(table, counted!.corpId, counted!.expiresAt, -1)] })).catch((e: { CancellationReasons?: Array<{ Code?: string }> }) => {
      if (e.CancellationReasons?.[0]?.Code !== 'ConditionalCheckFailed') throw e;
    });
  }
  await del(items.filter((i) => i.kind !== 'tenant' && !i.counted));
  await del(items.filter((i) => i.kind === 'tenant'));
}

/**
 * The items counted by kind, in one line.
 *
 * @example
 * countByKind(items) // 'tenant: 1, groups: 2, delivery records: 5'
 */
export function countByKind(items: readonly OwnedItem[]): string {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i.kind, (counts.get(i.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind}: ${n}`).join(', ') || 'nothing';
}
