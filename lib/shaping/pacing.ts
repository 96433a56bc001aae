import { DEFAULT_LATE_TOLERANCE_MS } from './gcra';
import { realSleep, systemClock, type Clock, type Sleep } from '../util/time';

/**
 * Waits until `slot` (epoch ms) and says whether the caller may fire now. False when the clock
 * already reads more than `lateToleranceMs` past the slot (before or after sleeping): a late call
 * would sit closer than allowed to the call qps slots later, so the caller must reserve again.
 * Never answers true before the slot, even if a timer fires early.
 *
 * @example
 * for (const slot of slots) {
 *   if (!(await waitForSlot(slot))) break; // re-reserve for the rest
 *   void send(next());
 * }
 */
export async function waitForSlot(
  slot: number,
  clock: Clock = systemClock,
  sleep: Sleep = realSleep,
  lateToleranceMs: number = DEFAULT_LATE_TOLERANCE_MS,
): Promise<boolean> {
  for (;;) {
    const t = clock();
    if (t > slot + lateToleranceMs) return false;
    if (t >= slot) return true;
    await sleep(Math.ceil(slot - t));
  }
}

export interface PaceOptions {
  clock?: Clock;
  sleep?: Sleep;
  lateToleranceMs?: number;
}

/**
 * Walks the slots in order and calls `fire(k)` for the k-th slot reached in time (k = 0, 1, ...),
 * skipping slots already missed. `fire` is not awaited (calls overlap; collect its promises
 * yourself). Returns the number of calls fired; reserve again for the rest.
 *
 * @example
 * const pending: Promise<void>[] = [];
 * const fired = await pace(slots, (i) => pending.push(send(batch[i])));
 * await Promise.allSettled(pending);
 * const notYet = batch.slice(fired);
 */
export async function pace(slots: readonly number[], fire: (index: number) => unknown, opts: PaceOptions = {}): Promise<number> {
  let fired = 0;
  for (const slot of slots) {
    if (await waitForSlot(slot, opts.clock, opts.sleep, opts.lateToleranceMs)) fire(fired++);
  }
  return fired;
}
