import { GetCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { appSecretKey, callbackSecretKey, chatsPk, eventCountKey, GROUP_SK_PREFIX, PARTITIONS, TENANT_SK } from '../contracts/tableKeys';
import { parseTenant } from '../contracts/tenant';
import { parkExpiry } from '../quota/parkedCount';
import { countUpdate } from '../quota/parking';
import { APP_FIELDS, CALLBACK_FIELDS, ClientIdTakenError, tenantPuts, writeClaiming } from './secrets';
import { isConditionalFailure, tryConditional, type Table } from './table';

/**
 * The upgrade to the secrets split (docs/DESIGN.md, "Table map"), in two steps, each a Scan of the
 * whole table with the operator's credentials (never in a function), each idempotent:
 *
 * 1. `npm run tenant -- migrate`, BEFORE deploying the new code, safe while the old code runs: it
 *    only copies. A tenant item with secrets: its secrets copied to `SECRET#CALLBACK#` and
 *    `SECRET#APP#` items and its Client ID claimed, the tenant item left as it is, so the old code
 *    keeps reading it and a rollback stays possible (a Client ID two old tenants share is a
 *    conflict: reported, that tenant left as it was, until it is put again or deleted).
 * 2. `npm run tenant -- migrate --strip`, right AFTER the deploy (the old code no longer runs):
 *    - group links and war rooms under `TENANT#<tenantId>`: merged into `CHATS#<tenantId>` (an
 *      attribute the item there has already, written since the deploy, is kept), then deleted;
 *    - event counters `ORG#<corpId>` / `EVENTS#<month>`: added to `EVENTS#<corpId>` / `MONTH#<month>`;
 *    - parked messages without expiry: given one and counted (a message unpark removes meanwhile is
 *      uncounted by unpark: lib/quota/parking.ts);
 *    - then the secrets removed from each tenant item whose secret items exist and hold the same
 *      values (the others are reported: run step 1 again first).
 */

export interface MigrationResult {
  tenants: number;
  chats: number;
  eventCounts: number;
  parked: number;
  /** Tenant items whose secrets were removed (`--strip`). */
  stripped: number;
  conflicts: number;
}

type Item = Record<string, unknown>;
type Write = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];
type Out = (line: string) => void;

/** Every attribute a tenant item held secrets in. */
const SECRET_ATTRIBUTES = [...APP_FIELDS, ...CALLBACK_FIELDS] as string[];

async function* scan(table: Table): AsyncGenerator<Item> {
  let start: Item | undefined;
  do {
    const r = await table.doc.send(new ScanCommand({ TableName: table.name, ConsistentRead: true, ExclusiveStartKey: start }));
    yield* r.Items ?? [];
    start = r.LastEvaluatedKey;
  } while (start);
}

/** Runs a transaction; false when a condition refused it (the record had moved meanwhile). */
async function transact(table: Table, items: Write[]): Promise<boolean> {
  try {
    await table.doc.send(new TransactWriteCommand({ TransactItems: items }));
    return true;
  } catch (e) {
    const reasons = (e as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
    if (isConditionalFailure(e) || reasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return false;
    throw e;
  }
}

/** A condition that the item's scalar attributes still hold the values read (names and values prefixed `p`). */
function unchanged(item: Item, p: string, keys = Object.keys(item)) {
  const scalars = keys.filter((k) => ['string', 'number', 'boolean'].includes(typeof item[k]));
  return {
    ConditionExpression: scalars.map((_, i) => `#${p}${i} = :${p}${i}`).join(' AND ') || 'attribute_exists(pk)',
    ExpressionAttributeNames: Object.fromEntries(scalars.map((k, i) => [`#${p}${i}`, k])),
    ExpressionAttributeValues: Object.fromEntries(scalars.map((k, i) => [`:${p}${i}`, item[k]])),
  };
}

/**
 * Runs step 1 (`strip` false) or step 2 (`strip` true); `out` gets one line per record moved or refused.
 *
 * @example
 * const r = await migrate(table, { out: console.log }); // { tenants: 1, chats: 3, ... }
 */
export async function migrate(table: Table, opts: { out: Out; now?: number; strip?: boolean }): Promise<MigrationResult> {
  const now = opts.now ?? Date.now();
  const r: MigrationResult = { tenants: 0, chats: 0, eventCounts: 0, parked: 0, stripped: 0, conflicts: 0 };
  const items: Item[] = [];
  for await (const item of scan(table)) items.push(item);
  for (const item of items) {
    const pk = String(item.pk);
    const sk = String(item.sk);
    if (pk.startsWith(PARTITIONS.tenant) && sk === TENANT_SK && SECRET_ATTRIBUTES.some((a) => a in item)) {
      const done = opts.strip ? await stripTenant(table, item, opts.out) : await copySecrets(table, item, now, opts.out);
      if (done === 'conflict') r.conflicts++;
      else if (done === 'done') r[opts.strip ? 'stripped' : 'tenants']++;
    } else if (!opts.strip) {
      // Step 1 only copies: the old code, still running, keeps reading and writing the rest where it was.
      continue;
    } else if (pk.startsWith(PARTITIONS.tenant) && (sk.startsWith(GROUP_SK_PREFIX) || sk.startsWith('WARROOM#'))) {
      if (await mergeChat(table, item, opts.out)) r.chats++;
    } else if (pk.startsWith(PARTITIONS.org) && sk.startsWith('EVENTS#')) {
      if (await moveEventCount(table, item, opts.out)) r.eventCounts++;
    } else if (pk.startsWith(PARTITIONS.park) && item.expiresAt === undefined) {
      const corpId = pk.slice(PARTITIONS.park.length);
      const expiresAt = parkExpiry(now);
      // Conditional on the item still being there without an expiry: one unpark deleted is not counted.
      const moved = await transact(table, [
        { Update: { TableName: table.name, Key: { pk, sk }, UpdateExpression: 'SET expiresAt = :e', ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(expiresAt)', ExpressionAttributeValues: { ':e': expiresAt } } },
        countUpdate(table, corpId, expiresAt, 1),
      ]);
      if (moved) {
        opts.out(`${pk} ${sk}: parked message expires ${new Date(expiresAt * 1000).toISOString()}, counted`);
        r.parked++;
      }
    }
  }
  return r;
}

/**
 * A group link or war room under `TENANT#`: merged into its `CHATS#` item, attribute by attribute,
 * never over one the item there has already (written since the deploy, so newer), then deleted.
 */
async function mergeChat(table: Table, item: Item, out: Out): Promise<boolean> {
  const { pk, sk, ...fields } = item;
  const to = chatsPk(String(pk).slice(PARTITIONS.tenant.length));
  const names = Object.keys(fields);
  const merged = await transact(table, [
    {
      Update: {
        TableName: table.name,
        Key: { pk: to, sk },
        UpdateExpression: `SET ${names.map((_, i) => `#a${i} = if_not_exists(#a${i}, :a${i})`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
        ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:a${i}`, fields[n]])),
      },
    },
    // Only as read: a change the old code made meanwhile is merged by the next run.
    { Delete: { TableName: table.name, Key: { pk, sk }, ...unchanged(item, 'o', names) } },
  ]);
  out(merged ? `${String(pk)} ${String(sk)} -> ${to}` : `${String(pk)} ${String(sk)}: changed since the scan, left for the next run`);
  return merged;
}

/** An event counter `ORG#<corpId>` / `EVENTS#<month>`, added to `EVENTS#<corpId>` / `MONTH#<month>`. */
async function moveEventCount(table: Table, item: Item, out: Out): Promise<boolean> {
  const pk = String(item.pk);
  const sk = String(item.sk);
  const corpId = pk.slice(PARTITIONS.org.length);
  const month = sk.slice('EVENTS#'.length);
  const count = Number(item.count ?? 0);
  const to = eventCountKey(corpId, month);
  const moved = await transact(table, [
    {
      Update: {
        TableName: table.name,
        Key: to,
        UpdateExpression: 'ADD #count :n SET #type = :type, corpId = :corp, #month = :month',
        ExpressionAttributeNames: { '#count': 'count', '#type': 'type', '#month': 'month' },
        ExpressionAttributeValues: { ':n': count, ':type': 'eventCount', ':corp': corpId, ':month': month },
      },
    },
    { Delete: { TableName: table.name, Key: { pk, sk }, ConditionExpression: '#count = :n', ExpressionAttributeNames: { '#count': 'count' }, ExpressionAttributeValues: { ':n': count } } },
  ]);
  if (moved) out(`${pk} ${sk} (${count} events) -> ${to.pk} ${to.sk}`);
  return moved;
}

type Outcome = 'done' | 'nothing' | 'conflict';

/** The secrets a tenant item holds, by attribute. */
const secretsOf = (item: Item): Item => Object.fromEntries(SECRET_ATTRIBUTES.filter((a) => item[a] !== undefined).map((a) => [a, item[a]]));

/** True when the secret items hold exactly the tenant item's secrets. */
async function secretItemsMatch(table: Table, tenantId: string, item: Item): Promise<boolean> {
  const get = async (Key: { pk: string; sk: string }) => (await table.doc.send(new GetCommand({ TableName: table.name, Key, ConsistentRead: true }))).Item;
  const [callback, app] = await Promise.all([get(callbackSecretKey(tenantId)), get(appSecretKey(tenantId))]);
  if (!callback || !app) return false;
  const stored = { ...secretsOf(callback), ...secretsOf(app) };
  const wanted = secretsOf(item);
  // Maps (a rotation's previous pair) compared whatever order DynamoDB returns their keys in.
  const canonical = (v: unknown): string => (v && typeof v === 'object' ? JSON.stringify(Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))) : JSON.stringify(v));
  const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
  return SECRET_ATTRIBUTES.every((a) => same(stored[a], wanted[a])) && callback.clientId === item.clientId;
}

/**
 * Step 1 for a tenant item with secrets: the secret items and the claim written, the tenant item
 * kept (the old code reads it), all conditional on its secrets being those read. Nothing when the
 * secret items hold them already.
 */
async function copySecrets(table: Table, item: Item, now: number, out: Out): Promise<Outcome> {
  const { pk, sk: _sk, type: _type, updatedAt, ...fields } = item;
  const tenant = parseTenant(fields);
  if (await secretItemsMatch(table, tenant.tenantId, item)) return 'nothing';
  const [, ...writes] = tenantPuts(table, tenant, String(updatedAt ?? new Date(now).toISOString()));
  const check: Write = { ConditionCheck: { TableName: table.name, Key: { pk, sk: TENANT_SK }, ...unchanged(item, 's', ['clientId', ...SECRET_ATTRIBUTES]) } };
  try {
    await writeClaiming(table, [...writes, check], tenant.clientId);
  } catch (e) {
    if (e instanceof ClientIdTakenError) {
      out(`${String(pk)}: NOT migrated: ${e.message}`);
      return 'conflict';
    }
    if ((e as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons?.at(-1)?.Code === 'ConditionalCheckFailed') {
      out(`${String(pk)}: changed since the scan: run the migration again`);
      return 'conflict';
    }
    throw e;
  }
  out(`${String(pk)}: secrets copied to SECRET#CALLBACK# and SECRET#APP#, Client ID ${tenant.clientId} claimed (the tenant item keeps them until "migrate --strip")`);
  return 'done';
}

/** Step 2 for a tenant item with secrets: removed where the secret items hold the same ones. */
async function stripTenant(table: Table, item: Item, out: Out): Promise<Outcome> {
  const pk = String(item.pk);
  const tenantId = pk.slice(PARTITIONS.tenant.length);
  if (!(await secretItemsMatch(table, tenantId, item))) {
    out(`${pk}: NOT stripped: its secret items are missing or differ from it: run "npm run tenant -- migrate" (step 1) again, or put the tenant again`);
    return 'conflict';
  }
  const present = Object.keys(secretsOf(item));
  const removed = await tryConditional(
    table.doc.send(new UpdateCommand({ TableName: table.name, Key: { pk, sk: TENANT_SK }, UpdateExpression: `REMOVE ${present.map((_, i) => `#r${i}`).join(', ')}`, ...mergeNames(unchanged(item, 's', present), present) })),
  );
  out(removed ? `${pk}: secrets removed from the tenant item` : `${pk}: changed since the scan: run "migrate --strip" again`);
  return removed ? 'done' : 'conflict';
}

/** The condition's names plus `#r<i>` for the attributes removed. */
function mergeNames(cond: ReturnType<typeof unchanged>, removed: string[]) {
  return { ...cond, ExpressionAttributeNames: { ...cond.ExpressionAttributeNames, ...Object.fromEntries(removed.map((a, i) => [`#r${i}`, a])) } };
}
