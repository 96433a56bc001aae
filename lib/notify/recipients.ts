import { getGroup } from '../store/groups';
import type { Table } from '../store/table';

/** batchSend takes at most 20 userIds. */
export const MAX_USERS_PER_BATCH = 20;

/**
 * Splits `items` into consecutive chunks of `size` (the last one shorter).
 *
 * @example
 * chunk([1, 2, 3, 4, 5], 2) // [[1, 2], [3, 4], [5]]
 */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!(size >= 1)) throw new RangeError('chunk size must be at least 1');
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** First occurrence of each item, in order. */
export const dedupe = <T>(items: readonly T[] | undefined): T[] => [...new Set(items ?? [])];

/** A mobile number safe for logs: `138****0001`. */
export function maskMobile(mobile: string): string {
  return mobile.length <= 7 ? '****' : `${mobile.slice(0, 3)}****${mobile.slice(-4)}`;
}

/**
 * The coolAppCode to send to a group with: the group's, while the tenant's cool app is installed
 * in it (the robot came into the group through the cool app); undefined otherwise.
 *
 * @example
 * await groupSend({ openConversationId, coolAppCode: await coolAppCodeOf(table, tenantId, openConversationId), ... });
 */
export async function coolAppCodeOf(table: Table, tenantId: string, openConversationId: string): Promise<string | undefined> {
  const g = await getGroup(table, tenantId, openConversationId);
  return g?.linked && g.coolAppCode ? g.coolAppCode : undefined;
}

/**
 * Runs `tasks` with at most `limit` running at once; resolves when all settled, rejects with the
 * first error after all settled (so no claim is left behind by an unfinished sibling).
 */
export async function runPool(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < tasks.length) {
      const t = tasks[next++];
      try {
        await t();
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (errors.length) throw errors[0];
}
