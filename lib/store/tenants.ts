import { DeleteCommand, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../errors';
import { Tenant, tenantSchema } from '../contracts/tenant';
import { Table } from './table';

const key = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'TENANT' });

/** Validates a tenant record; throws {@link ValidationError} listing every bad field. */
export function parseTenant(input: unknown): Tenant {
  const r = tenantSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new ValidationError(`invalid tenant record: ${issues.join('; ')}`, issues);
  }
  return r.data;
}

export async function putTenant(table: Table, input: unknown): Promise<Tenant> {
  const tenant = parseTenant(input);
  await table.doc.send(new PutCommand({ TableName: table.name, Item: { ...key(tenant.tenantId), type: 'tenant', ...tenant, updatedAt: new Date().toISOString() } }));
  return tenant;
}

function fromItem(item: Record<string, unknown> | undefined): Tenant | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, type: _type, updatedAt: _u, ...rest } = item;
  return tenantSchema.parse(rest);
}

export async function getTenant(table: Table, tenantId: string): Promise<Tenant | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: key(tenantId) }));
  return fromItem(r.Item);
}

export async function listTenants(table: Table): Promise<Tenant[]> {
  const out: Tenant[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await table.doc.send(
      new ScanCommand({ TableName: table.name, FilterExpression: 'sk = :t', ExpressionAttributeValues: { ':t': 'TENANT' }, ExclusiveStartKey: start }),
    );
    for (const item of r.Items ?? []) out.push(fromItem(item)!);
    start = r.LastEvaluatedKey;
  } while (start);
  return out.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
}

/** Deletes the tenant record; returns false when there was none. */
export async function deleteTenant(table: Table, tenantId: string): Promise<boolean> {
  const r = await table.doc.send(new DeleteCommand({ TableName: table.name, Key: key(tenantId), ReturnValues: 'ALL_OLD' }));
  return r.Attributes !== undefined;
}
