import { Readable } from 'node:stream';
import { runTenantCli } from '../../../lib/cli/tenant';
import { verifyLink } from '../../../lib/links/token';
import { getLinkKey } from '../../../lib/store/linkSecrets';
import { putLink } from '../../../lib/store/links';
import { putTenant } from '../../../lib/store/tenants';
import { aTenant } from '../../support/factories';
import { useLocalTable } from '../../support/localAws';

/** `npm run tenant -- link-url` and `links` against DynamoDB Local (docs/two-way.md, "Linking"). */

const table = useLocalTable();
const NOW = Date.parse('2026-11-30T00:00:00Z');

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTenantCli(args, { table, out: (l) => out.push(l), err: (l) => err.push(l), stdin: Readable.from([]), now: () => NOW });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const withPublicUrl = async <T>(url: string | undefined, run: () => Promise<T>): Promise<T> => {
  const before = process.env.PUBLIC_URL;
  if (url === undefined) delete process.env.PUBLIC_URL;
  else process.env.PUBLIC_URL = url;
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.PUBLIC_URL;
    else process.env.PUBLIC_URL = before;
  }
};

describe('tenant link-url', () => {
  it('prints a signed URL under PUBLIC_URL that verifies for the member, valid 7 days (or --days)', async () => {
    const tenant = await putTenant(table, aTenant());
    const r = await withPublicUrl('https://bridge.example.com/', () => cli('link-url', tenant.tenantId, '2476444212131'));
    expect(r.code).toBe(0);
    const url = new URL(r.out);
    expect(`${url.origin}${url.pathname}`).toBe(`https://bridge.example.com/link/${tenant.tenantId}`);
    const q = Object.fromEntries(url.searchParams);
    expect(q.e).toBe(String(NOW / 1000 + 7 * 86_400));
    await expect(verifyLink(table, tenant.tenantId, q, NOW)).resolves.toEqual({ memberId: '2476444212131', expiresAt: NOW / 1000 + 7 * 86_400 });
    // Another mint reuses the key: the first URL stays valid.
    const key = await getLinkKey(table, tenant.tenantId);
    const again = await withPublicUrl('https://bridge.example.com', () => cli('link-url', tenant.tenantId, '2476444212131', '--days', '1'));
    expect(new URL(again.out).searchParams.get('e')).toBe(String(NOW / 1000 + 86_400));
    expect(await getLinkKey(table, tenant.tenantId)).toEqual(key);
    await expect(verifyLink(table, tenant.tenantId, q, NOW)).resolves.toBeDefined();
  });

  it('refuses without PUBLIC_URL, for an unknown tenant, or for a member id that is not one', async () => {
    const tenant = await putTenant(table, aTenant());
    expect((await withPublicUrl(undefined, () => cli('link-url', tenant.tenantId, '1')))).toMatchObject({ code: 2, err: expect.stringContaining('PUBLIC_URL') });
    expect((await withPublicUrl('https://b.example.com', () => cli('link-url', 'nobody', '1'))).code).toBe(1);
    expect((await withPublicUrl('https://b.example.com', () => cli('link-url', tenant.tenantId, 'alice'))).code).toBe(2);
    expect((await withPublicUrl('https://b.example.com', () => cli('link-url', tenant.tenantId, '1', '--days', '0'))).code).toBe(2);
    expect(await getLinkKey(table, 'nobody')).toBeUndefined();
  });
});

describe('tenant links', () => {
  it('lists each member with its DingTalk user, name and time', async () => {
    const tenant = await putTenant(table, aTenant());
    await putLink(table, tenant.tenantId, { memberId: '11', userId: 'manager4220', name: '张三', linkedAt: '2026-11-29T01:00:00.000Z' });
    await putLink(table, tenant.tenantId, { memberId: '12', userId: 'dev0042', linkedAt: '2026-11-29T02:00:00.000Z' });
    const r = await cli('links', tenant.tenantId);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual([
      { memberId: '11', userId: 'manager4220', name: '张三', linkedAt: '2026-11-29T01:00:00.000Z' },
      { memberId: '12', userId: 'dev0042', name: null, linkedAt: '2026-11-29T02:00:00.000Z' },
    ]);
  });
});
