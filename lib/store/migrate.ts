import { ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { chatsPk, eventCountKey, GROUP_SK_PREFIX, PARTITIONS, parkedOrgKey, TENANT_SK } from '../contracts/tableKeys';
import { parseTenant } from '../contracts/tenant';
import { countAttribute, parkExpiry } from '../quota/parkedCount';
import { ClientIdTakenError, tenantPuts, writeClaiming } from './secrets';
import { isConditionalFailure, type Table } from './table';

/**
 * `npm run tenant -- migrate`: moves records written before the secrets split (docs/DESIGN.md,
 * "Table map") to where the functions now look for them, one transaction per record, each
 * conditional on the record still being in its old shape, so a second run (or a run racing the
 * functions) moves nothing twice:
 * - a tenant item with secrets: the record kept without them, `SECRET#CALLBACK#` and `SECRET#APP#`
 *   items written and its Client ID claimed (a Client ID two old tenants share is a conflict:
 *   reported, that tenant left as it was);
 * - group links and war rooms under `TENANT#<tenantId>`: moved to `CHATS#<tenantId>` (where the
 *   functions already wrote a newer one since the deploy, the old one is dropped);
 * - event counters `ORG#<corpId>` / `EVENTS#<month>`: added to `EVENTS#<corpId>` / `MONTH#<month>`;
 * - parked messages without expiry: given one (30 days from the migration) and counted.
 * A Scan of the whole table: it runs with the operator's credentials, never in a function.
 */

export interface MigrationResult {
  tenants: number;
  chats: number;
  eventCounts: number;
  parked: number;
  conflicts: number;
}

type Item = Record<string, unknown>;
type Write = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

const SECRET_ATTRIBUTES = ['clientSecret', 'aesKey', 'token'];

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

/**
 * Moves every old-layout record; `out` gets one line per record moved or refused.
 *
 * @example
 * const r = await migrate(table, { out: console.log }); // { tenants: 1, chats: 3, ... }
 */
export async function migrate(table: Table, opts: { out: (line: string) => void; now?: number }): Promise<MigrationResult> {
  const now = opts.now ?? Date.now();
  const r: MigrationResult = { tenants: 0, chats: 0, eventCounts: 0, parked: 0, conflicts: 0 };
  const items: Item[] = [];
  for await (const item of scan(table)) items.push(item);
  for (const item of items) {
    const pk = String(item.pk);
    const sk = String(item.sk);
    if (pk.startsWith(PARTITIONS.tenant) && sk === TENANT_SK && SECRET_ATTRIBUTES.some((a) => a in item)) {
      if (await moveTenant(table, item, now, opts.out)) r.tenants++;
      else r.conflicts++;
    } else if (pk.startsWith(PARTITIONS.tenant) && (sk.startsWith(GROUP_SK_PREFIX) || sk.startsWith('WARROOM#'))) {
      const to = chatsPk(pk.slice(PARTITIONS.tenant.length));
      const moved = await transact(table, [
        { Put: { TableName: table.name, Item: { ...item, pk: to }, ConditionExpression: 'attribute_not_exists(pk)' } },
        { Delete: { TableName: table.name, Key: { pk, sk } } },
      ]);
      if (!moved) await transact(table, [{ Delete: { TableName: table.name, Key: { pk, sk } } }]);
      opts.out(moved ? `${pk} ${sk} -> ${to}` : `${pk} ${sk}: dropped, ${to} has a newer one`);
      r.chats++;
    } else if (pk.startsWith(PARTITIONS.org) && sk.startsWith('EVENTS#')) {
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
      if (moved) {
        opts.out(`${pk} ${sk} (${count} events) -> ${to.pk} ${to.sk}`);
        r.eventCounts++;
      }
    } else if (pk.startsWith(PARTITIONS.park) && item.expiresAt === undefined) {
      const corpId = pk.slice(PARTITIONS.park.length);
      const expiresAt = parkExpiry(now);
      const moved = await transact(table, [
        { Update: { TableName: table.name, Key: { pk, sk }, UpdateExpression: 'SET expiresAt = :e', ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(expiresAt)', ExpressionAttributeValues: { ':e': expiresAt } } },
        { Update: { TableName: table.name, Key: parkedOrgKey(corpId), UpdateExpression: 'SET corpId = :corp ADD #day :one', ExpressionAttributeNames: { '#day': countAttribute(expiresAt) }, ExpressionAttributeValues: { ':corp': corpId, ':one': 1 } } },
      ]);
      if (moved) {
        opts.out(`${pk} ${sk}: parked message expires ${new Date(expiresAt * 1000).toISOString()}, counted`);
        r.parked++;
      }
    }
  }
  return r;
}

/** A legacy tenant item: record, secret items and claim written in one transaction. False on a conflict. */
async function moveTenant(table: Table, item: Item, now: number, out: (line: string) => void): Promise<boolean> {
  const { pk, sk: _sk, type: _type, updatedAt, ...fields } = item;
  const tenant = parseTenant(fields);
  const writes = tenantPuts(table, tenant, String(updatedAt ?? new Date(now).toISOString()));
  // Only while the item still holds its secrets: a `tenant put` since the scan wins.
  Object.assign(writes[0].Put!, { ConditionExpression: 'attribute_exists(clientSecret)' });
  try {
    await writeClaiming(table, writes, tenant.clientId);
  } catch (e) {
    if (e instanceof ClientIdTakenError) {
      out(`${String(pk)}: NOT migrated: ${e.message}`);
      return false;
    }
    if ((e as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
      out(`${String(pk)}: left as it is, put again since the scan`);
      return true;
    }
    throw e;
  }
  out(`${String(pk)}: secrets moved to SECRET#CALLBACK# and SECRET#APP#, Client ID ${tenant.clientId} claimed`);
  return true;
}
