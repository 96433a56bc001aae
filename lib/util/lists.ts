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

/**
 * First occurrence of each item, in order.
 *
 * @example
 * dedupe(['a', 'b', 'a']) // ['a', 'b']
 */
export const dedupe = <T>(items: readonly T[] | undefined): T[] => [...new Set(items ?? [])];

/**
 * Items grouped by key, groups in order of first appearance, items in order within a group.
 *
 * @example
 * groupBy(['a1', 'b1', 'a2'], (s) => s[0]) // [['a1', 'a2'], ['b1']]
 */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const g = groups.get(key);
    if (g) g.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()];
}
