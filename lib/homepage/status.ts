import { usageReport, type UsageReport } from '../quota/usage';
import { listGroups, type Group } from '../store/groups';
import type { Table } from '../store/table';
import { getTenant } from '../store/tenants';
import { cachedTenants } from '../store/tenantCache';
import { limitsOf } from '../contracts/tenant';
import type { TenantRecord as Tenant } from '../store/secrets';
import { GROUPS_READ, type GroupView, type HomeStatus, type PublicUrls, type UsageView } from './types';

/** The fields of a stored group (lib/store/groups.ts) the homepage reads. */
export type GroupRecord = Pick<Group, 'openConversationId' | 'title' | 'linked' | 'linkedAt' | 'disbandedAt'>;


/** Where the status comes from; {@link tableSources} reads DynamoDB, tests pass fakes. */
export interface StatusSources {
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  /** The first {@link GROUPS_READ} groups; `truncated` when there are more. */
  listGroups(tenantId: string): Promise<GroupRecord[] & { truncated?: boolean }>;
  /** This China-time month's usage report for the organisation (lib/delivery/usage.ts). */
  usage(org: { corpId: string; quota: number }, now: number): Promise<UsageReport>;
}

export interface StatusRequest {
  tenantId: string;
  /** `?corpId=` as DingTalk appended it, if it did. */
  corpId?: string;
  urls?: PublicUrls;
  now: number;
}

/** Most groups listed on the page; the rest are counted. */
export const MAX_GROUPS_SHOWN = 50;

const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The DynamoDB-backed sources: the tenant store, the group store and the usage report.
 *
 * @example
 * const sources = tableSources(createTable(config.TABLE_NAME));
 */
export function tableSources(table: Table): StatusSources {
  return {
    // Unknown ids remembered 10 s: a flood of made-up ids costs one read per id per instance per 10 s.
    getTenant: cachedTenants((tenantId) => getTenant(table, tenantId), { missesOnly: true }),
    // One Query page of at most GROUPS_READ items: a view costs the same few reads however many groups the tenant has.
    listGroups: (tenantId) => listGroups(table, tenantId, { pages: 1, limit: GROUPS_READ }),
    usage: (org, now) => usageReport(table, org, now),
  };
}

/** The `corpId` query value worth comparing: trimmed, bounded, or undefined. */
export function requestedCorpId(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t.slice(0, 128) : undefined;
}

/** The groups with the cool app installed now (a group the bridge disbanded is gone), by title, then id. */
export function installedGroups(groups: GroupRecord[]): GroupView[] {
  return groups
    .filter((g) => g.linked && !g.disbandedAt)
    .map((g): GroupView => {
      const since = g.linkedAt ? Date.parse(g.linkedAt) : NaN;
      return { openConversationId: g.openConversationId, title: g.title ?? '', ...(Number.isNaN(since) ? {} : { installedAt: since }) };
    })
    .sort((a, b) => (a.title && b.title ? a.title.localeCompare(b.title) : a.title ? -1 : b.title ? 1 : 0) || a.openConversationId.localeCompare(b.openConversationId));
}

const toUsageView = ({ corpId: _corpId, ...u }: UsageReport): UsageView => u;

/**
 * The page's view model from what was read. Pure: no I/O, no clock; secrets never leave here.
 *
 * @example
 * buildStatus({ tenantId: 'acme', now: Date.now() }, tenant, groups, report)
 */
export function buildStatus(req: StatusRequest, tenant: Tenant | undefined, groups: GroupRecord[] & { truncated?: boolean } = [], usage?: UsageReport): HomeStatus {
  const requestCorpId = requestedCorpId(req.corpId);
  const base = { tenantId: req.tenantId, now: req.now, groups: [] as GroupView[], moreGroups: 0, ...(requestCorpId ? { requestCorpId } : {}), ...(req.urls ? { urls: req.urls } : {}) };
  if (!tenant) return { ...base, state: 'unknown_tenant' };
  const limits = limitsOf(tenant);
  const org = { corpId: tenant.corpId, agentId: tenant.agentId, clientId: tenant.clientId, edition: tenant.edition, monthlyQuota: limits.monthlyQuota, qps: limits.qps };
  if (requestCorpId && requestCorpId !== tenant.corpId) return { ...base, state: 'corp_mismatch', org };
  const installed = installedGroups(groups);
  return {
    ...base,
    state: 'linked',
    org,
    groups: installed.slice(0, MAX_GROUPS_SHOWN),
    moreGroups: Math.max(0, installed.length - MAX_GROUPS_SHOWN),
    ...(groups.truncated ? { moreUnread: true } : {}),
    ...(usage ? { usage: toUsageView(usage) } : {}),
  };
}

/**
 * Reads the tenant, its groups and this month's usage, and builds the view model. An invalid
 * tenant id is an unknown tenant (nothing read). Usage is only read for a linked tenant opened
 * from its own organisation; another organisation never sees the linked one's groups or usage.
 *
 * @example
 * const status = await loadStatus(tableSources(table), { tenantId: 'acme', corpId: 'dingabc', now: Date.now() });
 */
export async function loadStatus(sources: StatusSources, req: StatusRequest): Promise<HomeStatus> {
  if (!TENANT_ID.test(req.tenantId)) return buildStatus({ ...req, tenantId: req.tenantId.slice(0, 64) }, undefined);
  // The tenant first: an unknown one (remembered by the sources) costs nothing more.
  const tenant = await sources.getTenant(req.tenantId);
  const asked = requestedCorpId(req.corpId);
  if (!tenant || (asked && asked !== tenant.corpId)) return buildStatus(req, tenant);
  const [groups, report] = await Promise.all([sources.listGroups(req.tenantId), sources.usage({ corpId: tenant.corpId, quota: limitsOf(tenant).monthlyQuota }, req.now)]);
  return buildStatus(req, tenant, groups, report);
}
