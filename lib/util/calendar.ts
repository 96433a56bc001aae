/** China Standard Time helpers the delivery modules need beyond lib/util/month.ts. */

const CST_OFFSET_MS = 8 * 3600_000;

/**
 * Epoch ms when a `YYYY-MM` China-time month begins (00:00 CST on the 1st).
 *
 * @example
 * monthStart('2026-03') // Date.parse('2026-02-28T16:00:00Z')
 */
export function monthStart(month: string): number {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new RangeError(`month must be YYYY-MM, got ${month}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, 1) - CST_OFFSET_MS;
}

/**
 * The China-time calendar date of an instant, `YYYY-MM-DD`.
 *
 * @example
 * chinaDate(Date.parse('2026-03-31T16:30:00Z')) // '2026-04-01'
 */
export function chinaDate(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);
}
