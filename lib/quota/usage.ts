import type { Table } from '../store/table';
import { chinaDate } from '../util/chinaTime';
import { callsPerDay, reachedAt } from './forecast';
import { parkedCount } from './parkedCount';
import { DEFAULT_RESERVE_PERCENT, reserveOf, usage } from './counter';

/** Share of the quota (percent) that the report flags once reached. */
export const USAGE_THRESHOLDS = [80, 95] as const;

export interface UsageReport {
  corpId: string;
  /** China-time month, YYYY-MM. */
  month: string;
  used: number;
  quota: number;
  /** used / quota in percent, one decimal (100 when the quota is 0). */
  percent: number;
  remaining: number;
  /** Calls only critical messages may use. */
  reserve: number;
  /** Thresholds of {@link USAGE_THRESHOLDS} reached. */
  crossed: number[];
  /** DingTalk answered with its quota error this month. */
  exhausted: boolean;
  /** DingTalk's quota error came below the configured quota, at this many calls: its real limit. */
  observedLimit?: number;
  forecast: {
    callsPerDay: number;
    /** China date (YYYY-MM-DD) non-critical messages stop (reserve reached), if this month. */
    reserveReachedOn?: string;
    /** China date (YYYY-MM-DD) the quota runs out, if this month. */
    exhaustedOn?: string;
  };
  parked: number;
}

/**
 * The pure part of the report: figures, thresholds and forecast from the counter.
 *
 * @example
 * buildReport({ corpId: 'ding1', quota: 10_000, used: 8200, parked: 0, now: Date.parse('2026-04-15T04:00:00Z') })
 * // { percent: 82, crossed: [80], reserve: 500, forecast: { exhaustedOn: '2026-04-18', ... }, ... }
 */
export function buildReport(i: { corpId: string; quota: number; used: number; parked: number; now: number; reservePercent?: number; exhausted?: boolean; observedLimit?: number; month: string }): UsageReport {
  const { quota, used, now } = i;
  const percent = quota > 0 ? Math.round((used / quota) * 1000) / 10 : 100;
  const reserve = reserveOf(quota, i.reservePercent ?? DEFAULT_RESERVE_PERCENT);
  const day = (ms: number | undefined) => (ms === undefined ? undefined : chinaDate(ms));
  const reserveOn = day(reachedAt(used, quota - reserve, now));
  const exhaustedOn = i.exhausted ? chinaDate(now) : day(reachedAt(used, quota, now));
  return {
    corpId: i.corpId,
    month: i.month,
    used,
    quota,
    percent,
    remaining: Math.max(0, quota - used),
    reserve,
    crossed: USAGE_THRESHOLDS.filter((t) => percent >= t),
    exhausted: i.exhausted ?? false,
    ...(i.observedLimit !== undefined && i.observedLimit < i.quota ? { observedLimit: i.observedLimit } : {}),
    forecast: {
      callsPerDay: Math.round(callsPerDay(used, now) * 10) / 10,
      ...(reserveOn ? { reserveReachedOn: reserveOn } : {}),
      ...(exhaustedOn ? { exhaustedOn } : {}),
    },
    parked: i.parked,
  };
}

/**
 * Usage report for the CLI (`npm run tenant -- usage <tenantId>`): reads the organisation's
 * counter for this China-time month and its parked-message count: two GetItems, whatever is parked.
 *
 * @example
 * const { monthlyQuota } = limitsOf(tenant);
 * console.log(formatUsage(await usageReport(table, { corpId: tenant.corpId, quota: monthlyQuota })));
 */
export async function usageReport(table: Table, org: { corpId: string; quota: number; reservePercent?: number }, now: number = Date.now()): Promise<UsageReport> {
  const [u, parked] = await Promise.all([usage(table, org.corpId, now), parkedCount(table, org.corpId, now)]);
  return buildReport({ ...org, used: u.used, exhausted: u.exhausted, observedLimit: u.observedLimit, month: u.month, parked, now });
}

/**
 * Human-readable lines for a report.
 *
 * @example
 * formatUsage(report)
 * // 'ding1 2026-04: 8200 / 10000 calls (82%), 1800 left, reserve 500 for critical\n...'
 */
export function formatUsage(r: UsageReport): string {
  const lines = [
    `${r.corpId} ${r.month}: ${r.used} / ${r.quota} calls (${r.percent}%), ${r.remaining} left, reserve ${r.reserve} for critical`,
    `thresholds crossed: ${r.crossed.length ? r.crossed.map((t) => `${t}%`).join(', ') : 'none'}`,
    `rate: ${r.forecast.callsPerDay} calls/day; non-critical stop: ${r.forecast.reserveReachedOn ?? 'not this month'}; quota exhausted: ${r.exhausted ? 'yes (DingTalk said so)' : (r.forecast.exhaustedOn ?? 'not this month')}`,
    `parked messages: ${r.parked}`,
    ...(r.observedLimit !== undefined ? [`DingTalk refused for its monthly quota at ${r.observedLimit} calls, below the configured ${r.quota}: set monthlyQuota to ${r.observedLimit} (npm run tenant -- put)`] : []),
  ];
  return lines.join('\n');
}
