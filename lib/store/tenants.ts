import { GetCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { parseTenant, TENANT_ID_PATTERN, type Tenant } from '../contracts/tenant';
import { appSecretKey, callbackSecretKey, TENANT_SK, tenantKey } from '../contracts/tableKeys';
import { claimDelete, recordProjection, tenantPuts, tenantRecordSchema, writeClaiming, type TenantRecord } from './secrets';
import { Table } from './table';

/**
 * Stores a tenant: its record, its secret items and its Client ID claim in one transaction
 * (lib/store/secrets.ts). A Client ID another tenant registered is refused (ClientIdTakenError);
 * a tenant that changes its Client ID frees the old one.
 */
export async function putTenant(table: Table, input: unknown): Promise<Tenant> {
  const tenant = parseTenant(input);
  const before = await getTenant(table, tenant.tenantId, true);
  const writes = tenantPuts(table, tenant, new Date().toISOString());
  if (before && before.clientId !== tenant.clientId) writes.push(claimDelete(table, tenant.tenantId, before.clientId));
  await writeClaiming(table, writes, tenant.clientId);
  return tenant;
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
      TransactItems: [del(tenantKey(tenantId)), del(callbackSecretKey(tenantId)), del(appSecretKey(tenantId)), claimDelete(table, tenantId, before.clientId)],
    }),
  );
  return true;
}
