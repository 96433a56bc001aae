import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { runTenantCli } from '../../../lib/cli/tenant';
import type { Input } from '../../../lib/cli/prompt';
import { flashdutySecretKey, tenantKey } from '../../../lib/contracts/tableKeys';
import { getFlashdutyAppKey } from '../../../lib/store/secrets';
import { createTable, type Table } from '../../../lib/store/table';
import { aTenant } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

/**
 * The tenant's Flashduty APP Key (docs/two-way.md, "Actions to Flashduty"): a secret field of the
 * tenant, stored in its own item `SECRET#FLASHDUTY#<tenantId>`, never taken from argv, never printed,
 * required by `actionsVia: "api"`, removed with the tenant.
 */
describe('tenant CLI: flashdutyAppKey', () => {
  let aws: LocalAws;
  let table: Table;
  const dir = mkdtempSync(join(tmpdir(), 'tenant-fd-'));
  beforeAll(async () => {
    aws = await startLocalAws();
    table = createTable(aws.tableName);
  });
  afterAll(async () => {
    table?.doc.destroy();
    await aws?.stop();
  });

  async function cli(stdin: Input, ...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runTenantCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), stdin });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const noStdin = (): Input => Readable.from([]);
  const file = (name: string, content: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };
  const item = async (key: { pk: string; sk: string }) => (await table.doc.send(new GetCommand({ TableName: aws.tableName, Key: key, ConsistentRead: true }))).Item;

  it('put stores it apart from the record; get shows it masked; nothing prints it', async () => {
    const tenant = aTenant({ actionsVia: 'api', flashdutyAppKey: 'fd-secret-key-123' });
    const put = await cli(noStdin(), 'put', file('t.json', tenant));
    expect(put.code).toBe(0);
    expect(await item(flashdutySecretKey(tenant.tenantId))).toMatchObject({ appKey: 'fd-secret-key-123', tenantId: tenant.tenantId });
    expect(JSON.stringify(await item(tenantKey(tenant.tenantId)))).not.toContain('fd-secret-key-123');
    const got = await cli(noStdin(), 'get', tenant.tenantId);
    expect(JSON.parse(got.out)).toMatchObject({ actionsVia: 'api', flashdutyAppKey: '****' });
    const listed = await cli(noStdin(), 'list');
    for (const r of [put, got, listed]) expect(r.out + r.err).not.toContain('fd-secret-key-123');
    expect(await getFlashdutyAppKey(table, tenant.tenantId)).toBe('fd-secret-key-123');
  });

  it('actionsVia "api" without flashdutyAppKey is refused with a clear message, and nothing is stored', async () => {
    const tenant = aTenant({ actionsVia: 'api' });
    const r = await cli(noStdin(), 'put', file('api.json', tenant));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/actionsVia: "api" needs flashdutyAppKey/);
    expect(await item(tenantKey(tenant.tenantId))).toBeUndefined();
  });

  it('set takes it only from stdin or a file, never from argv; field= removes it', async () => {
    const tenant = aTenant();
    expect((await cli(noStdin(), 'put', file('s.json', tenant))).code).toBe(0);
    const inline = await cli(noStdin(), 'set', tenant.tenantId, 'flashdutyAppKey=typed-on-the-command-line');
    expect(inline.code).toBe(2);
    expect(inline.err).toMatch(/never taken from the command line/);
    expect(inline.err).not.toContain('typed-on-the-command-line');
    expect(await item(flashdutySecretKey(tenant.tenantId))).toBeUndefined();

    const before = await cli(noStdin(), 'set', tenant.tenantId, 'actionsVia=api');
    expect(before.code).toBe(1);
    expect(before.err).toMatch(/needs flashdutyAppKey/);

    const set = await cli(Readable.from(['from-stdin-key\n']), 'set', tenant.tenantId, 'flashdutyAppKey=-', 'actionsVia=api');
    expect(set.code).toBe(0);
    expect(set.out + set.err).not.toContain('from-stdin-key');
    expect(await getFlashdutyAppKey(table, tenant.tenantId)).toBe('from-stdin-key');

    // Removing the key while the tenant still calls the API is refused; with actionsVia back to queue it goes.
    expect((await cli(noStdin(), 'set', tenant.tenantId, 'flashdutyAppKey=')).code).toBe(1);
    expect((await cli(noStdin(), 'set', tenant.tenantId, 'actionsVia=queue', 'flashdutyAppKey=')).code).toBe(0);
    expect(await item(flashdutySecretKey(tenant.tenantId))).toBeUndefined();
  });

  it('delete removes the APP Key item with the tenant', async () => {
    const tenant = aTenant({ actionsVia: 'api', flashdutyAppKey: 'to-be-deleted' });
    expect((await cli(noStdin(), 'put', file('d.json', tenant))).code).toBe(0);
    const r = await cli(noStdin(), 'delete', tenant.tenantId, '--yes');
    expect(r.code).toBe(0);
    expect(await item(flashdutySecretKey(tenant.tenantId))).toBeUndefined();
    expect(await item(tenantKey(tenant.tenantId))).toBeUndefined();
  });
});
