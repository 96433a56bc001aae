import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { parkedOrgKey } from '../contracts/tableKeys';
import type { Table } from '../store/table';

/**
 * How many messages an organisation has parked, without reading them: a counter on its entry in the
 * unpark sweep's work list (`PARKED` / `ORG#<corpId>`), kept in the same transaction as each park
 * and each removal (lib/quota/parking.ts). Parked items expire (TTL) {@link PARK_DAYS} days after
 * parking, rounded up to the next midnight UTC; DynamoDB deletes expired items on its own, so the
 * counter is kept per expiry day, one attribute `parked#<YYYY-MM-DD>` each (the items that expire
 * at 00:00 UTC that day), and a reader adds up the days still to come. One GetItem, whatever is parked.
 */

/** Days a parked message is kept before it expires. */
export const PARK_DAYS = 30;

const DAY_MS = 86_400_000;

/** The expiry of a message parked at `parkedAtMs`: epoch seconds, midnight UTC after {@link PARK_DAYS} days. */
export const parkExpiry = (parkedAtMs: number): number => ((Math.floor((parkedAtMs + PARK_DAYS * DAY_MS) / DAY_MS) + 1) * DAY_MS) / 1000;

/** The counter attribute of the items expiring at `expiresAt` (epoch seconds, a midnight UTC). */
export const countAttribute = (expiresAt: number): string => `parked#${new Date(expiresAt * 1000).toISOString().slice(0, 10)}`;

/** The live count in a work-list item: the days whose items have not expired at `nowMs`. */
export function countOf(item: Record<string, unknown> | undefined, nowMs: number): number {
  const today = countAttribute(Math.floor(nowMs / 1000));
  let n = 0;
  for (const [name, value] of Object.entries(item ?? {})) if (name.startsWith('parked#') && name > today) n += Number(value);
  return Math.max(0, n);
}

/**
 * The organisation's parked messages that have not expired, from its counter (one GetItem).
 *
 * @example
 * await parkedCount(table, 'dingcorp', Date.now()) // 42
 */
export async function parkedCount(table: Table, corpId: string, nowMs: number): Promise<number> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: parkedOrgKey(corpId) }));
  return countOf(r.Item, nowMs);
}
