import type { GroupRecord, StatusRequest } from '../../lib/homepage';
import { buildReport, type UsageReport } from '../../lib/quota/usage';
import type { Tenant } from '../../lib/contracts/tenant';

/** Fixtures of the homepage's pure tests (view model and rendering), in any language. */

export const NOW = Date.parse('2025-06-16T04:00:00Z'); // 2025-06-16 12:00 China time
export const URLS = { homepage: 'https://api.example.com/dingtalk/acme/home', callback: 'https://api.example.com/dingtalk/acme/callback' };

export const aRequest = (tenant: Pick<Tenant, 'tenantId'>, over: Partial<StatusRequest> = {}): StatusRequest => ({ tenantId: tenant.tenantId, now: NOW, urls: URLS, ...over });

export const aGroup = (over: Partial<GroupRecord> = {}): GroupRecord => ({
  openConversationId: `cid${Math.random().toString(36).slice(2)}`,
  title: 'SRE on-call',
  linked: true,
  linkedAt: '2025-06-01T01:30:00.000Z',
  ...over,
});

/** The usage report lib/quota/usage.ts would build for the tenant's organisation at NOW. */
export const aUsage = (tenant: Tenant, over: { used?: number; parked?: number; exhausted?: boolean; observedLimit?: number } = {}): UsageReport =>
  buildReport({ corpId: tenant.corpId, quota: tenant.monthlyQuota ?? 10_000, used: 1234, parked: 0, exhausted: false, month: '2025-06', now: NOW, ...over });

/**
 * The visible text of a document, roughly as a browser shows it (inline tags join, block tags
 * break); `withoutCode` leaves `<code>` values (ids, URLs) out.
 */
export const textOf = (doc: string, opts: { withoutCode?: boolean } = {}) =>
  (opts.withoutCode ? doc.replace(/<code>[\s\S]*?<\/code>/g, ' ') : doc)
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/<\/?(code|strong|q|em|a)\b[^>]*>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
