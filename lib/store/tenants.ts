import { DeleteCommand, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { parseTenant, TENANT_ID_PATTERN, tenantSchema, type Tenant } from '../contracts/tenant';
import { TENANT_SK, tenantKey } from '../contracts/tableKeys';
import { Table } from './table';

export async function putTenant(table: Table, input: unknown): Promise<Tenant> {
  const tenant = parseTenant(input);
  await table.doc.send(new PutCommand({ TableName: table.name, Item: { ...tenantKey(tenant.tenantId), type: 'tenant', ...tenant, updatedAt: new Date().toISOString() } }));
  return tenant;
}

function fromItem(item: Record<string, unknown> | undefined): Tenant | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, type: _type, updatedAt: _u, ...rest } = item;
  return tenantSchema.parse(rest);
}

/** The tenant, or undefined; an id that cannot be a tenant's (a forged URL, say) is never looked up. */
export async function getTenant(table: Table, tenantId: string): Promise<Tenant | undefined> {
  if (!TENANT_ID_PATTERN.test(tenantId)) return undefined;
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: tenantKey(tenantId) }));
  return fromItem(r.Item);
}

export async function listTenants(table: Table): Promise<Tenant[]> {
  const out: Tenant[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await table.doc.send(
      new ScanCommand({ TableName: table.name, FilterExpression: 'sk = :t', ExpressionAttributeValues: { ':t': TENANT_SK }, ExclusiveStartKey: start }),
    );
    for (const item of r.Items ?? []) out.push(fromItem(item)!);
    start = r.LastEvaluatedKey;
  } while (start);
  return out.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
}

/** Deletes the tenant record; returns false when there was none. */
export async function deleteTenant(table: Table, tenantId: string): Promise<boolean> {
  const r = await table.doc.send(new DeleteCommand({ TableName: table.name, Key: tenantKey(tenantId), ReturnValues: 'ALL_OLD' }));
  return r.Attributes !== undefined;
}
