/** China Standard Time is UTC+8 all year (no daylight saving). */
const CST_OFFSET_MS = 8 * 3600 * 1000;

/**
 * The calendar month in China time, as `YYYY-MM`: DingTalk's quotas reset on the 1st, CST.
 *
 * @example
 * chinaMonth(Date.parse('2026-11-30T16:00:00Z')) // '2026-12'
 */
export function chinaMonth(nowMs: number): string {
  const d = new Date(nowMs + CST_OFFSET_MS);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Epoch ms when the China-time month containing `nowMs` ends (the next month's 1st, 00:00 CST). */
export function chinaMonthEnd(nowMs: number): number {
  const d = new Date(nowMs + CST_OFFSET_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - CST_OFFSET_MS;
}

/** Epoch ms when the China-time month containing `nowMs` began. */
export function chinaMonthStart(nowMs: number): number {
  const d = new Date(nowMs + CST_OFFSET_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - CST_OFFSET_MS;
}
