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
