import { chinaMonthEnd, chinaMonthStart } from '../util/chinaTime';

/**
 * When `used` reaches `limit` if calls keep coming at this China-time month's average rate so
 * far (linear). `now` when already there; undefined when nothing was used yet or the month ends
 * first (the counter resets on the 1st, 00:00 CST).
 *
 * @example
 * // 3,000 calls in April's first 6 days (500 a day), quota 10,000: reached 14 days later
 * reachedAt(3000, 10_000, Date.parse('2026-04-06T16:00:00Z')) // Date.parse('2026-04-20T16:00:00Z'), 04-21 00:00 CST
 */
export function reachedAt(used: number, limit: number, now: number): number | undefined {
  if (used >= limit) return now;
  const elapsed = now - chinaMonthStart(now);
  if (used <= 0 || elapsed <= 0) return undefined;
  const at = now + ((limit - used) * elapsed) / used;
  return at < chinaMonthEnd(now) ? Math.ceil(at) : undefined;
}

/**
 * Average calls per day this China-time month so far.
 *
 * @example
 * callsPerDay(3000, Date.parse('2026-04-06T16:00:00Z')) // 500
 */
export function callsPerDay(used: number, now: number): number {
  const days = (now - chinaMonthStart(now)) / 86_400_000;
  return days > 0 ? used / days : 0;
}
