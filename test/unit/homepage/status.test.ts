import { buildReport } from '../../../lib/quota/usage';
import { installedGroups, loadStatus, MAX_GROUPS_SHOWN, publicUrls, type GroupRecord, type StatusSources } from '../../../lib/homepage';
import type { Tenant } from '../../../lib/contracts/tenant';
import { aTenant } from '../../support/factories';

const NOW = Date.parse('2025-06-16T04:00:00Z');

/** In-memory sources recording what was read. */
function aWorld(opts: { tenants?: Tenant[]; groups?: GroupRecord[]; used?: number } = {}) {
  const reads: string[] = [];
  const tenants = new Map((opts.tenants ?? []).map((t) => [t.tenantId, t]));
  const sources: StatusSources = {
    getTenant: async (id) => (reads.push(`tenant:${id}`), tenants.get(id)),
    listGroups: async (id) => (reads.push(`groups:${id}`), opts.groups ?? []),
    usage: async (org, now) => (reads.push(`usage:${org.corpId}:${org.quota}`), buildReport({ ...org, used: opts.used ?? 0, parked: 0, month: '2025-06', now })),
  };
  return { sources, reads };
}

describe('homepage status', () => {
  it('a linked tenant reads its groups and its organisation\'s usage against its own quota', async () => {
    // given
    const tenant = aTenant({ corpId: 'dingA', monthlyQuota: 5000 });
    const { sources, reads } = aWorld({ tenants: [tenant], used: 50 });
    // when
    const s = await loadStatus(sources, { tenantId: tenant.tenantId, now: NOW });
    // then
    expect(s.state).toBe('linked');
    expect(s.usage).toMatchObject({ used: 50, quota: 5000, percent: 1 });
    expect(reads).toEqual(expect.arrayContaining([`tenant:${tenant.tenantId}`, `groups:${tenant.tenantId}`, 'usage:dingA:5000']));
  });

  it('an unknown tenant is not linked and no usage is read', async () => {
    const { sources, reads } = aWorld();
    const s = await loadStatus(sources, { tenantId: 'nobody', now: NOW });
    expect(s.state).toBe('unknown_tenant');
    expect(reads.some((r) => r.startsWith('usage:'))).toBe(false);
  });

  it('an invalid tenant id is an unknown tenant and nothing is read', async () => {
    const { sources, reads } = aWorld();
    const s = await loadStatus(sources, { tenantId: '../../etc/passwd', now: NOW });
    expect(s.state).toBe('unknown_tenant');
    expect(reads).toEqual([]);
  });

  it('another organisation\'s visit does not read the linked organisation\'s usage', async () => {
    const tenant = aTenant({ corpId: 'dingA' });
    const { sources, reads } = aWorld({ tenants: [tenant], groups: [{ openConversationId: 'cid1', title: 'x', linked: true }] });
    const s = await loadStatus(sources, { tenantId: tenant.tenantId, corpId: 'dingB', now: NOW });
    expect(s).toMatchObject({ state: 'corp_mismatch', requestCorpId: 'dingB', groups: [], moreGroups: 0 });
    expect(s.usage).toBeUndefined();
    expect(reads.some((r) => r.startsWith('usage:'))).toBe(false);
  });

  it('lists installed groups by title, at most MAX_GROUPS_SHOWN, and counts the rest', async () => {
    const tenant = aTenant();
    const groups: GroupRecord[] = Array.from({ length: MAX_GROUPS_SHOWN + 3 }, (_, i) => ({ openConversationId: `cid${i}`, title: `g${String(i).padStart(3, '0')}`, linked: true }));
    groups.push({ openConversationId: 'gone', title: 'a-uninstalled', linked: false });
    const { sources } = aWorld({ tenants: [tenant], groups: groups.reverse() });
    const s = await loadStatus(sources, { tenantId: tenant.tenantId, now: NOW });
    expect(s.groups).toHaveLength(MAX_GROUPS_SHOWN);
    expect(s.groups[0].title).toBe('g000');
    expect(s.groups.some((g) => g.title === 'a-uninstalled')).toBe(false);
    expect(s.moreGroups).toBe(3);
  });

  it('named groups come before unnamed ones, and the install time is read from linkedAt', () => {
    const out = installedGroups([
      { openConversationId: 'cidB', linked: true },
      { openConversationId: 'cidA', title: 'Zeta', linked: true, linkedAt: '2025-06-01T00:00:00.000Z' },
      { openConversationId: 'cidC', title: 'Alpha', linked: true, linkedAt: 'garbage' },
    ]);
    expect(out).toEqual([
      { openConversationId: 'cidC', title: 'Alpha' },
      { openConversationId: 'cidA', title: 'Zeta', installedAt: Date.parse('2025-06-01T00:00:00.000Z') },
      { openConversationId: 'cidB', title: '' },
    ]);
  });

  it('derives this integration\'s URLs from the request, and none from a strange host', () => {
    const event = { rawPath: '/dingtalk/acme/home', headers: { 'x-forwarded-proto': 'https' }, requestContext: { domainName: 'abc.execute-api.eu-west-1.amazonaws.com' } } as never;
    expect(publicUrls(event)).toEqual({
      homepage: 'https://abc.execute-api.eu-west-1.amazonaws.com/dingtalk/acme/home',
      callback: 'https://abc.execute-api.eu-west-1.amazonaws.com/dingtalk/acme/callback',
    });
    expect(publicUrls({ rawPath: '/dingtalk/acme/home', headers: {}, requestContext: { domainName: 'evil"><x' } } as never)).toBeUndefined();
  });
});
