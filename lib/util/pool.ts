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

/**
 * At most `limit` tasks at once across every caller that shares it (FIFO).
 *
 * @example
 * const slots = new Slots(20);
 * await Promise.all(groups.map((g) => slots.run(() => send(g))));
 */
export class Slots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
