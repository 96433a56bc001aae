/**
 * Pure GCRA arithmetic for a strict (burst 1) per-second limit, with the safety margin that keeps
 * it strict when the limit is enforced at ARRIVAL over a sliding window.
 *
 * Why the margin. The limit is "at most qps arrivals in any closed 1000 ms window", measured where
 * the call lands. Slots are spaced T = (1000 + safetyMs) / qps apart, so any qps+1 distinct slots
 * span at least qps*T = 1000 + safetyMs. Between a slot and its arrival three things can shrink
 * that span:
 * - network jitter: each arrival is delayed by 0..jitterMs, so two arrivals can move
 *   jitterMs closer than their slots;
 * - lateness: the caller fires at most lateToleranceMs after its slot as read on a millisecond
 *   clock, which is up to lateToleranceMs + clockResolutionMs in real time ({@link waitForSlot}
 *   refuses later calls, because a late call compresses the gap to the call qps slots later);
 *   firing early never happens (the pacer sleeps until the slot);
 * - clock skew between instances, which read the shared `tat` with their own clocks.
 * Plus 1 ms so the span stays strictly above 1000 when arrivals are stamped in whole ms.
 * Hence safetyMs = jitterMs + lateToleranceMs + clockResolutionMs + skewMs + 1; with the
 * defaults 50 + 8 + 1 + 0 + 1 = 60 ms, which costs about 6 % of the nominal rate. The tolerance
 * is a trade: each ms adds 0.1 % of spacing, while a slot woken later than the tolerance is
 * wasted (re-reserved). Timers on a busy or CPU-throttled instance are often 3-5 ms late; 8 ms
 * keeps most slots usable. `safetyMsFor({ lateToleranceMs: 3 })` gives the tighter 55 ms.
 */

export const DEFAULT_JITTER_MS = 50;
export const DEFAULT_LATE_TOLERANCE_MS = 8;

export interface SafetyBudget {
  /** Largest difference in network delay between two calls (ms). */
  jitterMs?: number;
  /** How late after its slot a caller may still fire (ms, as read on its clock). */
  lateToleranceMs?: number;
  /** Resolution of the caller's clock (ms); Date.now() has 1. */
  clockResolutionMs?: number;
  /** Largest clock difference between instances sharing the limiter (ms). */
  skewMs?: number;
}

/**
 * The spacing margin that keeps a strict arrival window safe under the given budget.
 *
 * @example
 * safetyMsFor({}) // 60: 50 jitter + 8 lateness + 1 clock resolution + 0 skew + 1
 * safetyMsFor({ lateToleranceMs: 3 }) // 55
 */
export function safetyMsFor(b: SafetyBudget = {}): number {
  const { jitterMs = DEFAULT_JITTER_MS, lateToleranceMs = DEFAULT_LATE_TOLERANCE_MS, clockResolutionMs = 1, skewMs = 0 } = b;
  return jitterMs + lateToleranceMs + clockResolutionMs + skewMs + 1;
}

export const DEFAULT_SAFETY_MS = safetyMsFor();

/**
 * Milliseconds between consecutive slots for `qps` calls per second.
 *
 * @example
 * spacingMs(20) // 53: (1000 + 60) / 20
 */
export function spacingMs(qps: number, safetyMs: number = DEFAULT_SAFETY_MS): number {
  if (!(qps > 0) || !Number.isFinite(qps)) throw new RangeError(`qps must be a positive number, got ${qps}`);
  if (!(safetyMs >= 0)) throw new RangeError(`safetyMs must be >= 0, got ${safetyMs}`);
  return (1000 + safetyMs) / qps;
}

/** Rounds up to the microsecond: keeps stored numbers short and never moves a slot earlier. */
const ceilMicros = (ms: number): number => Math.ceil(ms * 1000 - 1e-6) / 1000;

export interface PlanInput {
  /** The stored theoretical arrival time (epoch ms), undefined when there is none yet. */
  tat: number | undefined;
  /** Earliest acceptable first slot (epoch ms): now plus the expected write latency. */
  earliest: number;
  /** Current time (epoch ms), the reference for the horizon. */
  now: number;
  /** Slots wanted (>= 1). */
  n: number;
  spacing: number;
  /** Slots may lie at most this far after `now`. */
  horizonMs: number;
}

/** Slots granted (possibly fewer than asked) and the new tat; or nothing and when to retry. */
export type SlotPlan = { slots: number[]; tat: number; retryAfterMs: 0 } | { slots: []; tat: undefined; retryAfterMs: number };

/**
 * One GCRA step with burst 1: the first slot is max(tat, earliest), the next ones follow at
 * `spacing`, as many as fit in the horizon; the new tat is one spacing after the last slot.
 *
 * @example
 * planSlots({ tat: 1000, earliest: 900, now: 900, n: 3, spacing: 50, horizonMs: 5000 })
 * // { slots: [1000, 1050, 1100], tat: 1150, retryAfterMs: 0 }
 */
export function planSlots(p: PlanInput): SlotPlan {
  const start = Math.max(p.tat ?? -Infinity, p.earliest);
  const last = p.now + p.horizonMs;
  if (start > last) return { slots: [], tat: undefined, retryAfterMs: Math.max(1, Math.ceil(start - last)) };
  const fit = Math.floor((last - start) / p.spacing) + 1;
  const k = Math.max(1, Math.min(p.n, fit));
  const slots = Array.from({ length: k }, (_, i) => ceilMicros(start + i * p.spacing));
  return { slots, tat: ceilMicros(start + k * p.spacing), retryAfterMs: 0 };
}

/**
 * Most slots found in any closed window [t - windowMs, t] (t a slot): a checker for tests and
 * the simulator's rule.
 *
 * @example
 * maxInWindow([0, 500, 1000, 1001], 1000) // 3: 0, 500 and 1000 share [0, 1000]
 */
export function maxInWindow(times: readonly number[], windowMs = 1000): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let hi = 0, lo = 0; hi < t.length; hi++) {
    while (t[lo] < t[hi] - windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
