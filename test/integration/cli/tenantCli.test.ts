import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTenantCli } from '../../../lib/cli/tenant';
import { markExhausted, usage } from '../../../lib/quota/counter';
import { createTable } from '../../../lib/store/table';
import { chinaMonth } from '../../../lib/util/chinaTime';
import { aTenant } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

describe('tenant CLI against DynamoDB Local', () => {
  let aws: LocalAws;
  const dir = mkdtempSync(join(tmpdir(), 'tenant-cli-'));
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => aws?.stop());

  async function cli(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runTenantCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  const file = (name: string, content: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  it('puts a tenant, then get and list show it with every secret masked', async () => {
    const tenant = aTenant({ qps: 15 });
    expect((await cli('put', file('t.json', tenant))).code).toBe(0);

    const got = await cli('get', tenant.tenantId);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.out)).toMatchObject({ tenantId: tenant.tenantId, corpId: tenant.corpId, qps: 15, clientSecret: '****', aesKey: '****', token: '****' });
    const listed = await cli('list');
    expect(listed.out).toContain(tenant.tenantId);
    for (const secret of [tenant.clientSecret, tenant.aesKey, tenant.token]) {
      expect(got.out).not.toContain(secret);
      expect(listed.out).not.toContain(secret);
    }
  });

  it('rejects an invalid record naming every bad field, and stores nothing', async () => {
    const bad = { ...aTenant(), aesKey: 'short', edition: 'gold' };
    const r = await cli('put', file('bad.json', bad));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/aesKey/);
    expect(r.err).toMatch(/edition/);
    expect((await cli('get', bad.tenantId)).code).toBe(1);
  });

  it('explains unreadable files, unknown tenants and unknown commands', async () => {
    expect(await cli('put', file('broken.json', '{nope'))).toMatchObject({ code: 2, err: expect.stringMatching(/cannot read/) });
    expect(await cli('get', 'nobody')).toMatchObject({ code: 1, err: 'no tenant nobody' });
    expect(await cli('frobnicate')).toMatchObject({ code: 2, err: expect.stringMatching(/usage/) });
  });

  it('a broken file is reported without echoing its content (it may hold a secret)', async () => {
    const r = await cli('put', file('leak.json', '{"clientSecret":SUPERSECRET123}'));
    expect(r).toMatchObject({ code: 2, err: expect.stringMatching(/not valid JSON/) });
    expect(r.err).not.toContain('SUPERSECRET');
  });

  it('raising the monthly quota lifts the month\'s "exhausted" mark so parked messages can go', async () => {
    const tenant = aTenant({ monthlyQuota: 100 });
    await cli('put', file('q1.json', tenant));
    await markExhausted(createTable(aws.tableName), tenant.corpId, chinaMonth(Date.now()));
    const r = await cli('put', file('q2.json', { ...tenant, monthlyQuota: 1000 }));
    expect(r.out).toMatch(/monthly quota raised to 1000/);
    expect((await usage(createTable(aws.tableName), tenant.corpId)).exhausted).toBe(false);
  });

  it('deletes a tenant', async () => {
    const tenant = aTenant();
    await cli('put', file('d.json', tenant));
    expect((await cli('delete', tenant.tenantId)).code).toBe(0);
    expect((await cli('get', tenant.tenantId)).code).toBe(1);
    expect((await cli('delete', tenant.tenantId)).code).toBe(1);
  });

  it('refuses a second tenant with a Client ID already registered, naming the tenant that has it', async () => {
    const first = aTenant();
    expect((await cli('put', file('c1.json', first))).code).toBe(0);
    const second = aTenant({ clientId: first.clientId });
    const r = await cli('put', file('c2.json', second));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`Client ID ${first.clientId} is already registered to tenant ${first.tenantId}: one DingTalk app serves one tenant (delete ${first.tenantId} first, or use its tenant id)`);
    expect((await cli('get', second.tenantId)).code).toBe(1);
    // The tenant that has it may be put again.
    expect((await cli('put', file('c3.json', { ...first, qps: 7 }))).code).toBe(0);
  });

  it('frees a Client ID when its tenant changes it or is deleted', async () => {
    const a = aTenant();
    const b = aTenant({ clientId: a.clientId });
    await cli('put', file('f1.json', a));
    await cli('put', file('f2.json', { ...a, clientId: `${a.clientId}new` }));
    expect((await cli('put', file('f3.json', b))).code).toBe(0);
    expect((await cli('put', file('f4.json', aTenant({ clientId: `${a.clientId}new` })))).code).toBe(1);
    await cli('delete', a.tenantId);
    expect((await cli('put', file('f5.json', aTenant({ clientId: `${a.clientId}new` })))).code).toBe(0);
  });

  it('parked shows each message with its expiry, 30 days after parking rounded up to midnight UTC', async () => {
    const tenant = aTenant();
    await cli('put', file('p.json', tenant));
    const { park } = await import('../../../lib/quota/parking');
    const parkedAt = Date.parse('2026-11-30T10:15:00Z');
    await park(createTable(aws.tableName), tenant.corpId, { id: 'n-1', tenantId: tenant.tenantId, kind: 'notify' }, 'quota', { tenantId: tenant.tenantId, critical: true, now: parkedAt });
    const r = await cli('parked', tenant.tenantId);
    expect(JSON.parse(r.out)).toEqual([expect.objectContaining({ id: 'n-1', parkedAt: '2026-11-30T10:15:00.000Z', expiresAt: '2026-12-31T00:00:00.000Z' })]);
  });

  it('--local reads the endpoints npm start wrote, and says so when the stack is not running', async () => {
    const envFile = join(dir, 'stack.env');
    const { applyLocalFlag } = await import('../../../lib/cli/stackEnv');
    expect(() => applyLocalFlag(['--local', 'list'], envFile)).toThrow(/npm start/);
    writeFileSync(envFile, `TABLE_NAME=${aws.tableName}\nAWS_ENDPOINT_URL_DYNAMODB=${aws.env.AWS_ENDPOINT_URL_DYNAMODB}\n`);
    expect(applyLocalFlag(['--local', 'list'], envFile)).toEqual(['list']);
    expect(process.env.TABLE_NAME).toBe(aws.tableName);
  });
});
