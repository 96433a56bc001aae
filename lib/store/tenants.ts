import { GetCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { parseTenant, TENANT_ID_PATTERN, type Tenant } from '../contracts/tenant';
import { appSecretKey, callbackSecretKey, flashdutySecretKey, TENANT_SK, tenantKey } from '../contracts/tableKeys';
import { BridgeError } from '../errors';
import { claimDelete, clientOwner, recordProjection, tenantPuts, tenantRecordSchema, writeClaiming, type TenantRecord } from './secrets';
import { Table } from './table';

/** Times {@link putTenant} reads again when another put changed the tenant under it. */
const PUT_ATTEMPTS = 5;

/** The transaction failed because the record changed since it was read (or a concurrent transaction held it). */
function recordRaced(e: unknown): boolean {
  const reasons = (e as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
  return reasons?.[0]?.Code === 'ConditionalCheckFailed' || Boolean(reasons?.some((r) => r.Code === 'TransactionConflict'));
}

/**
 * Stores a tenant: its record, its secret items and its Client ID claim in one transaction
 * (lib/store/secrets.ts). A Client ID another tenant registered is refused (ClientIdTakenError);
 * a tenant that changes its Client ID frees the old one (when it holds it: an item not yet migrated
 * whose Client ID another tenant claimed holds none). The record's write is conditional on the
 * Client ID read before (or on there being no record), so of two puts changing the Client ID at
 * once the loser reads again and frees the winner's claim: no claim is left without its tenant.
 */
export async function putTenant(table: Table, input: unknown): Promise<Tenant> {
  const tenant = parseTenant(input);
  for (let attempt = 1; ; attempt++) {
    const before = await getTenant(table, tenant.tenantId, true);
    const writes = tenantPuts(table, tenant, new Date().toISOString());
    Object.assign(
      writes[0].Put!,
      before ? { ConditionExpression: 'clientId = :was', ExpressionAttributeValues: { ':was': before.clientId } } : { ConditionExpression: 'attribute_not_exists(pk)' },
    );
    if (before && before.clientId !== tenant.clientId && (await clientOwner(table, before.clientId)) === tenant.tenantId) writes.push(claimDelete(table, tenant.tenantId, before.clientId));
    try {
      await writeClaiming(table, writes, tenant.clientId);
      return tenant;
    } catch (e) {
      if (!recordRaced(e)) throw e;
      if (attempt >= PUT_ATTEMPTS) throw new BridgeError(`tenant ${tenant.tenantId} kept changing while it was saved: nothing saved, run the command again`, 409, 'conflict');
    }
  }
}

function fromItem(item: Record<string, unknown> | undefined): TenantRecord | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, type: _type, updatedAt: _u, ...rest } = item;
  return tenantRecordSchema.parse(rest);
}

/**
 * The tenant's record (never a secret: the read is projected on the record's fields), or undefined;
 * an id that cannot be a tenant's (a forged URL, say) is never looked up.
 */
export async function getTenant(table: Table, tenantId: string, consistent = false): Promise<TenantRecord | undefined> {
  if (!TENANT_ID_PATTERN.test(tenantId)) return undefined;
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: tenantKey(tenantId), ConsistentRead: consistent, ...recordProjection() }));
  return fromItem(r.Item);
}

/** Every tenant's record (a Scan: the operator's CLI and the local stack only, never a function). */
export async function listTenants(table: Table): Promise<TenantRecord[]> {
  const out: TenantRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const p = recordProjection();
    const r = await table.doc.send(
      new ScanCommand({ TableName: table.name, FilterExpression: 'sk = :t', ...p, ExpressionAttributeValues: { ':t': TENANT_SK }, ExclusiveStartKey: start }),
    );
    for (const item of r.Items ?? []) out.push(fromItem(item)!);
    start = r.LastEvaluatedKey;
  } while (start);
  return out.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
}

/** Deletes the tenant record, its secrets and its Client ID claim; returns false when there was none. */
export async function deleteTenant(table: Table, tenantId: string): Promise<boolean> {
  const before = await getTenant(table, tenantId, true);
  if (!before) return false;
  const del = (Key: { pk: string; sk: string }) => ({ Delete: { TableName: table.name, Key } });
  await table.doc.send(
    new TransactWriteCommand({
      TransactItems: [del(tenantKey(tenantId)), del(callbackSecretKey(tenantId)), del(appSecretKey(tenantId)), del(flashdutySecretKey(tenantId)), claimDelete(table, tenantId, before.clientId)],
    }),
  );
  return true;
}
