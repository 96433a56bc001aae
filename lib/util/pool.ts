/**
 * Runs `tasks` with at most `limit` running at once; resolves when all settled, rejects with the
 * first error after all settled (so no claim is left behind by an unfinished sibling).
 *
 * @example
 * await runPool(groups.map((g) => () => sendGroup(g)), 4);
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
