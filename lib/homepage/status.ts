import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { usage as quotaUsage } from '../delivery/quota';
import type { Table } from '../store/table';
import { getTenant } from '../store/tenants';
import { limitsOf, type Tenant } from '../tenant/schema';
import { getField } from '../util/fields';
import { chinaMonth, chinaMonthEnd, chinaMonthStart } from '../util/month';
import type { GroupView, HomeStatus, PublicUrls, UsageView } from './types';

/** A group link as stored by the events feature, reduced to what the homepage needs. */
export interface GroupRecord {
  openConversationId: string;
  title?: string;
  /** The cool app is installed in the group now. */
  installed: boolean;
  installedAt?: number;
}

/** This month's counter for an organisation (lib/delivery/quota.ts `usage`). */
export interface MonthUsage {
  month: string;
  used: number;
  exhausted: boolean;
}

/** Where the status comes from; {@link tableSources} reads DynamoDB, tests pass fakes. */
export interface StatusSources {
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  listGroups(tenantId: string): Promise<GroupRecord[]>;
  usage(corpId: string, now: number): Promise<MonthUsage>;
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
const DAY_MS = 86_400_000;

/**
 * An instant from a stored attribute: epoch ms, epoch seconds, a string of either, or ISO 8601.
 *
 * @example
 * toEpochMs('1735689600000') // 1735689600000
 * toEpochMs('2025-01-01T00:00:00Z') // 1735689600000
 */
export function toEpochMs(v: unknown): number | undefined {
  if (typeof v === 'string' && /^\d{9,16}$/.test(v)) v = Number(v);
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v >= 1e12 ? v : v * 1000;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/**
 * A stored group item (`TENANT#<tenantId>` / `GROUP#<openConversationId>`) as a {@link GroupRecord}.
 * Installed when `linked` is true, or, for items without `linked`, when it carries a coolAppCode
 * and no uninstall time.
 *
 * @example
 * toGroupRecord({ sk: 'GROUP#cid1', title: 'On-call', linked: true, installedAt: '2025-06-01T08:00:00Z' })
 */
export function toGroupRecord(item: Record<string, unknown>): GroupRecord | undefined {
  const sk = typeof item.sk === 'string' ? item.sk : '';
  const id = getField(item, 'openConversationId') ?? (sk.startsWith('GROUP#') ? sk.slice('GROUP#'.length) : undefined);
  if (typeof id !== 'string' || !id) return undefined;
  const title = getField(item, 'title');
  const linked = getField(item, 'linked');
  const installed =
    typeof linked === 'boolean' ? linked : Boolean(getField(item, 'coolAppCode')) && getField(item, 'uninstalledAt') === undefined;
  const installedAt = toEpochMs(getField(item, 'installedAt') ?? getField(item, 'linkedAt') ?? getField(item, 'createdAt'));
  return { openConversationId: id, installed, ...(typeof title === 'string' && title ? { title } : {}), ...(installedAt ? { installedAt } : {}) };
}

/**
 * The tenant's group items, read straight from the table (lib/store/groups.ts did not exist yet
 * when the homepage was written; swap in its listGroups once it does).
 *
 * @example
 * const groups = await readGroups(table, 'acme');
 */
export async function readGroups(table: Table, tenantId: string, maxItems = 1000): Promise<GroupRecord[]> {
  const out: GroupRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await table.doc.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :g)',
        ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}`, ':g': 'GROUP#' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of r.Items ?? []) {
      const g = toGroupRecord(item);
      if (g) out.push(g);
    }
    start = r.LastEvaluatedKey;
  } while (start && out.length < maxItems);
  return out;
}

/**
 * The DynamoDB-backed sources: the tenant store, the group items and the monthly counter.
 *
 * @example
 * const sources = tableSources(createTable(config.TABLE_NAME));
 */
export function tableSources(table: Table): StatusSources {
  return {
    getTenant: (tenantId) => getTenant(table, tenantId),
    listGroups: (tenantId) => readGroups(table, tenantId),
    usage: (corpId, now) => quotaUsage(table, corpId, now),
  };
}

/**
 * The month's total if calls keep coming at the rate so far; undefined in the month's first day
 * (too little to go on).
 *
 * @example
 * forecastMonth(1000, Date.parse('2025-06-15T16:00:00Z')) // ~2000 (half of June gone, China time)
 */
export function forecastMonth(used: number, now: number): number | undefined {
  const start = chinaMonthStart(now);
  const elapsed = now - start;
  if (elapsed < DAY_MS) return undefined;
  return Math.round((used * (chinaMonthEnd(now) - start)) / elapsed);
}

/** The usage panel: the counter against the tenant's quota. */
export function usageView(u: MonthUsage, quota: number, now: number): UsageView {
  const percent = quota > 0 ? Math.round((u.used / quota) * 1000) / 10 : 0;
  const forecast = forecastMonth(u.used, now);
  return { month: u.month, used: u.used, quota, percent, exhausted: u.exhausted, ...(forecast !== undefined ? { forecast } : {}) };
}

/** The `corpId` query value worth comparing: trimmed, bounded, or undefined. */
export function requestedCorpId(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t.slice(0, 128) : undefined;
}

/**
 * The page's view model from what was read. Pure: no I/O, no clock; secrets never leave here.
 *
 * @example
 * buildStatus({ tenantId: 'acme', now: Date.now() }, tenant, groups, usage)
 */
export function buildStatus(req: StatusRequest, tenant: Tenant | undefined, groups: GroupRecord[] = [], usage?: MonthUsage): HomeStatus {
  const requestCorpId = requestedCorpId(req.corpId);
  const base = { tenantId: req.tenantId, now: req.now, groups: [] as GroupView[], moreGroups: 0, ...(requestCorpId ? { requestCorpId } : {}), ...(req.urls ? { urls: req.urls } : {}) };
  if (!tenant) return { ...base, state: 'unknown_tenant' };
  const limits = limitsOf(tenant);
  const org = { corpId: tenant.corpId, agentId: tenant.agentId, clientId: tenant.clientId, edition: tenant.edition, monthlyQuota: limits.monthlyQuota, qps: limits.qps };
  if (requestCorpId && requestCorpId !== tenant.corpId) return { ...base, state: 'corp_mismatch', org };
  const installed = groups
    .filter((g) => g.installed)
    .map((g): GroupView => ({ openConversationId: g.openConversationId, title: g.title ?? '', ...(g.installedAt ? { installedAt: g.installedAt } : {}) }))
    .sort((a, b) => a.title.localeCompare(b.title) || a.openConversationId.localeCompare(b.openConversationId));
  return {
    ...base,
    state: 'linked',
    org,
    groups: installed.slice(0, MAX_GROUPS_SHOWN),
    moreGroups: Math.max(0, installed.length - MAX_GROUPS_SHOWN),
    usage: usageView(usage ?? { month: chinaMonth(req.now), used: 0, exhausted: false }, limits.monthlyQuota, req.now),
  };
}

/**
 * Reads the tenant, its groups and this month's usage, and builds the view model. An invalid
 * tenant id is an unknown tenant (no read). Groups and usage are only read for a linked tenant
 * opened from its own organisation.
 *
 * @example
 * const status = await loadStatus(tableSources(table), { tenantId: 'acme', corpId: 'dingabc', now: Date.now() });
 */
export async function loadStatus(sources: StatusSources, req: StatusRequest): Promise<HomeStatus> {
  if (!TENANT_ID.test(req.tenantId)) return buildStatus({ ...req, tenantId: req.tenantId.slice(0, 64) }, undefined);
  const [tenant, groups] = await Promise.all([sources.getTenant(req.tenantId), sources.listGroups(req.tenantId)]);
  const asked = requestedCorpId(req.corpId);
  if (!tenant || (asked && asked !== tenant.corpId)) return buildStatus(req, tenant);
  return buildStatus(req, tenant, groups, await sources.usage(tenant.corpId, req.now));
}
