import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { parkedCountKey } from '../contracts/tableKeys';
import type { Table } from '../store/table';
import { chinaMonthEnd } from '../util/chinaTime';

/**
 * How many messages an organisation has parked, without reading them: a counter item under the
 * organisation's own partition (`ORG#<corpId>` / `PARKED`, next to its monthly call counters, so the
 * homepage reads it with the grant it has for those), kept in the same transaction as each park and
 * each removal (lib/quota/parking.ts). A parked message expires (TTL) {@link PARK_GRACE_DAYS} days
 * after the quota resets: at the start of the next China-time month after it was parked, plus 7
 * days, so the unpark sweep has a week of new quota to send it. DynamoDB deletes expired items on
 * its own, so the counter is kept per expiry instant, one attribute `parked#<expiresAt>` each (epoch
 * seconds), and a reader adds up those still to come. One GetItem, whatever is parked.
 */

/** Days a parked message is kept after the quota resets (the next China-time month begins). */
export const PARK_GRACE_DAYS = 7;

const DAY_MS = 86_400_000;

/**
 * The expiry of a message parked at `parkedAtMs`: epoch seconds, the next China-time month's start plus {@link PARK_GRACE_DAYS} days.
 *
 * @example
 * parkExpiry(Date.parse('2026-11-20T00:00:00Z')) // Date.parse('2026-12-07T16:00:00Z') / 1000
 */
export const parkExpiry = (parkedAtMs: number): number => (chinaMonthEnd(parkedAtMs) + PARK_GRACE_DAYS * DAY_MS) / 1000;

const PREFIX = 'parked#';

/** The counter attribute of the items expiring at `expiresAt` (epoch seconds). */
export const countAttribute = (expiresAt: number): string => `${PREFIX}${expiresAt}`;

/** The live count in a counter item: the expiries still to come at `nowMs`. */
export function countOf(item: Record<string, unknown> | undefined, nowMs: number): number {
  let n = 0;
  for (const [name, value] of Object.entries(item ?? {})) if (name.startsWith(PREFIX) && Number(name.slice(PREFIX.length)) * 1000 > nowMs) n += Number(value);
  return Math.max(0, n);
}

/**
 * The organisation's parked messages that have not expired, from its counter (one GetItem).
 *
 * @example
 * await parkedCount(table, 'dingcorp', Date.now()) // 42
 */
export async function parkedCount(table: Table, corpId: string, nowMs: number): Promise<number> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: parkedCountKey(corpId) }));
  return countOf(r.Item, nowMs);
}
