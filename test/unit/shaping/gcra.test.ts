import {
  DEFAULT_JITTER_MS,
  DEFAULT_LATE_TOLERANCE_MS,
  DEFAULT_SAFETY_MS,
  maxInWindow,
  planSlots,
  safetyMsFor,
  spacingMs,
} from '../../../lib/shaping/gcra';

/** A deterministic PRNG so a failing run can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the safety margin', () => {
  it('covers 50 ms jitter, 8 ms fire tolerance, the clock tick and strictness: 60 ms by default', () => {
    expect(DEFAULT_SAFETY_MS).toBe(60);
    expect(safetyMsFor({ lateToleranceMs: 3 })).toBe(55);
    expect(safetyMsFor({ skewMs: 5 })).toBe(65);
    expect(safetyMsFor({ jitterMs: 0, lateToleranceMs: 0, clockResolutionMs: 0 })).toBe(1);
  });

  it('spaces slots (1000 + safety) / qps apart', () => {
    expect(spacingMs(20)).toBe(53);
    expect(spacingMs(20, 55)).toBe(52.75);
    expect(spacingMs(40, 0)).toBe(25);
    expect(() => spacingMs(0)).toThrow(RangeError);
  });
});

describe('planning slots (GCRA, burst 1)', () => {
  const base = { spacing: 50, horizonMs: 1000, now: 10_000, earliest: 10_025 };

  it('starts at the earliest time when the limiter is idle', () => {
    expect(planSlots({ ...base, tat: undefined, n: 3 })).toEqual({ slots: [10_025, 10_075, 10_125], tat: 10_175, retryAfterMs: 0 });
    expect(planSlots({ ...base, tat: 5000, n: 1 })).toEqual({ slots: [10_025], tat: 10_075, retryAfterMs: 0 });
  });

  it('queues behind the stored tat when busy', () => {
    expect(planSlots({ ...base, tat: 10_400, n: 2 }).slots).toEqual([10_400, 10_450]);
  });

  it('grants only the slots that fit the horizon', () => {
    const plan = planSlots({ ...base, tat: 10_900, n: 5 });
    expect(plan.slots).toEqual([10_900, 10_950, 11_000]);
    expect(plan.tat).toBe(11_050);
  });

  it('answers retryAfterMs instead of slots beyond the horizon', () => {
    expect(planSlots({ ...base, tat: 11_500, n: 1 })).toEqual({ slots: [], tat: undefined, retryAfterMs: 500 });
  });

  it('never returns a fractional slot earlier than exact arithmetic', () => {
    const spacing = spacingMs(60);
    const plan = planSlots({ tat: 1_767_225_600_000.123, earliest: 0, now: 1_767_225_599_990, n: 60, spacing, horizonMs: 5000 });
    plan.slots.forEach((s, i) => expect(s).toBeGreaterThanOrEqual(1_767_225_600_000.123 + i * spacing - 1e-3));
    expect(plan.tat! - plan.slots[59]).toBeGreaterThanOrEqual(spacing - 1e-3);
  });
});

describe('a strict arrival window', () => {
  it('counts arrivals in closed windows [t - 1000, t]', () => {
    expect(maxInWindow([0, 500, 1000, 1001])).toBe(3);
    expect(maxInWindow([0, 1001, 2002])).toBe(1);
    expect(maxInWindow([])).toBe(0);
  });

  it.each([1, 20, 40, 60].flatMap((qps) => [3, DEFAULT_LATE_TOLERANCE_MS, 20].map((tol) => [qps, tol])))(
    'never holds more than qps=%i arrivals when calls fire up to the tolerance (%i ms) late and arrive with 0-50 ms jitter',
    (qps, tol) => {
      const rand = prng(qps * 100 + tol);
      const spacing = spacingMs(qps, safetyMsFor({ lateToleranceMs: tol }));
      let tat: number | undefined;
      let now = 1_767_225_600_000;
      const arrivals: number[] = [];
      for (let i = 0; i < 400; i++) {
        // given: reservers of 1-6 slots, arriving at random times, sometimes idle
        now += rand() < 0.1 ? 2000 * rand() : 40 * rand();
        const plan = planSlots({ tat, earliest: now + 25, now, n: 1 + Math.floor(rand() * 6), spacing, horizonMs: 3000 });
        if (plan.tat === undefined) continue;
        tat = plan.tat;
        for (const slot of plan.slots) {
          // when: fired on a ms clock up to the tolerance late (worst case: just under tolerance + 1 ms),
          // stamped at arrival in whole ms after 0-50 ms jitter
          const late = rand() < 0.5 ? tol + 0.999 : rand() * (tol + 1);
          const jitter = rand() < 0.5 ? (rand() < 0.5 ? 0 : DEFAULT_JITTER_MS) : rand() * DEFAULT_JITTER_MS;
          arrivals.push(Math.floor(slot + late + jitter));
        }
      }
      // then
      expect(maxInWindow(arrivals)).toBeLessThanOrEqual(qps);
    },
  );

  it('would be broken without the margin (the test above has teeth)', () => {
    const qps = 20;
    const spacing = spacingMs(qps, 0);
    const slots = Array.from({ length: 21 }, (_, i) => i * spacing);
    const arrivals = slots.map((s, i) => (i === 0 ? s + DEFAULT_JITTER_MS : s));
    expect(maxInWindow(arrivals)).toBeGreaterThan(qps);
  });
});
