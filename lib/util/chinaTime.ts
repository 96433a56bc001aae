/**
 * China Standard Time (UTC+8 all year, no daylight saving): DingTalk's quotas reset on the 1st of
 * the month in China time, so every month, day and clock shown or counted by the bridge comes from here.
 */
const CST_OFFSET_MS = 8 * 3600_000;

/** The instant as an ISO string of China wall-clock time (without zone), e.g. `2026-03-01T00:30:00.000`. */
const wallClock = (ms: number): string => new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 23);

/**
 * The calendar month in China time, as `YYYY-MM`.
 *
 * @example
 * chinaMonth(Date.parse('2026-11-30T16:00:00Z')) // '2026-12'
 */
export const chinaMonth = (ms: number): string => wallClock(ms).slice(0, 7);

/**
 * The China-time calendar date of an instant, `YYYY-MM-DD`.
 *
 * @example
 * chinaDate(Date.parse('2026-03-31T16:30:00Z')) // '2026-04-01'
 */
export const chinaDate = (ms: number): string => wallClock(ms).slice(0, 10);

/**
 * An instant in China time to the minute, `YYYY-MM-DD HH:MM`.
 *
 * @example
 * chinaMinute(Date.parse('2025-06-01T00:30:00Z')) // '2025-06-01 08:30'
 */
export const chinaMinute = (ms: number): string => wallClock(ms).slice(0, 16).replace('T', ' ');

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

/** Epoch ms when the China-time month containing `ms` began. */
export const chinaMonthStart = (ms: number): number => monthStart(chinaMonth(ms));

/** Epoch ms when the China-time month containing `ms` ends (the next month's 1st, 00:00 CST). */
export function chinaMonthEnd(ms: number): number {
  const [y, m] = chinaMonth(ms).split('-').map(Number);
  return Date.UTC(y, m, 1) - CST_OFFSET_MS;
}
