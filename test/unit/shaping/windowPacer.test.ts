import { maxInWindow } from '../../../lib/shaping/gcra';
import { WindowPacer } from '../../../lib/shaping/windowPacer';

/**
 * Discrete-event time: sleeps are timers on a virtual clock, woken in order, each `late()` ms later
 * than asked (a busy machine). `run` advances time until every worker is done.
 */
function virtualTime(late: () => number = () => 0) {
  let now = 1_000_000;
  const timers: Array<{ at: number; wake: () => void }> = [];
  const tick = () => new Promise<void>((r) => setImmediate(r));
  return {
    clock: () => now,
    sleep: (ms: number) => new Promise<void>((wake) => void timers.push({ at: now + Math.max(0, ms) + late(), wake })),
    /** Sleeps exactly (the network, not a timer). */
    wait: (ms: number) => new Promise<void>((wake) => void timers.push({ at: now + Math.max(0, ms), wake })),
    async run(done: () => boolean) {
      for (let guard = 0; guard < 1_000_000 && !done(); guard++) {
        await tick();
        if (!timers.length) continue;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift()!;
        now = Math.max(now, next.at);
        next.wake();
      }
    },
  };
}

/** Seeded random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `workers` concurrent callers make `calls` calls through one pacer. Each call reaches DingTalk at a
 * random moment between its start and its answer (the worst case the pacer must survive), its
 * answer `rtt()` ms after its start.
 */
async function drive(opts: { qps: number; calls: number; workers: number; rtt: () => number; late?: () => number; seed?: number; skipAnswers?: boolean }) {
  const time = virtualTime(opts.late);
  const rnd = random(opts.seed ?? 1);
  const pacer = new WindowPacer({ qps: opts.qps, clock: time.clock, sleep: time.sleep });
  const arrivals: number[] = [];
  const starts: number[] = [];
  let left = opts.calls;
  let finished = 0;
  const worker = async () => {
    while (left > 0) {
      left--;
      const call = await pacer.start();
      if (!call) throw new Error('no start');
      starts.push(call.start);
      const rtt = opts.rtt();
      arrivals.push(call.start + Math.floor(rnd() * (rtt + 1)));
      await time.wait(rtt);
      if (!opts.skipAnswers) pacer.finish(call);
    }
    finished++;
  };
  const all = Promise.all(Array.from({ length: opts.workers }, worker));
  await time.run(() => finished === opts.workers);
  await all;
  starts.sort((a, b) => a - b);
  // Calls per second over the run, the first window's burst left out, as a share of the ceiling.
  return { arrivals, rate: ((starts.length - opts.qps) * 1000) / (starts[starts.length - 1] - starts[0]) / opts.qps };
}

describe('the window pacer', () => {
  it.each([20, 40, 60])('never lets %i + 1 arrivals share a 1000 ms window, however the network and timers behave', async (qps) => {
    for (const seed of [1, 2, 3]) {
      const rnd = random(seed * 97);
      const { arrivals } = await drive({ qps, calls: qps * 12, workers: qps, seed, rtt: () => 5 + Math.floor(rnd() * 300), late: () => Math.floor(rnd() * 40) });
      expect(maxInWindow(arrivals, 1000)).toBeLessThanOrEqual(qps);
    }
  });

  it('runs at the ceiling less the round trip: 20 QPS with 30 ms answers is about 0.97', async () => {
    const { arrivals, rate } = await drive({ qps: 20, calls: 400, workers: 20, rtt: () => 30 });
    expect(maxInWindow(arrivals, 1000)).toBeLessThanOrEqual(20);
    expect(rate).toBeGreaterThan(0.95);
    expect(rate).toBeLessThan(1);
  });

  it('a late timer delays a call but never bunches the next ones into its window', async () => {
    let n = 0;
    // Every 7th timer wakes 400 ms late.
    const { arrivals } = await drive({ qps: 20, calls: 300, workers: 4, rtt: () => 40, late: () => (++n % 7 === 0 ? 400 : 0) });
    expect(maxInWindow(arrivals, 1000)).toBeLessThanOrEqual(20);
  });

  it('an unanswered call holds its place for maxCallMs, so no successor can crowd it', async () => {
    const { arrivals, rate } = await drive({ qps: 5, calls: 15, workers: 5, rtt: () => 10, skipAnswers: true });
    expect(maxInWindow(arrivals, 1000)).toBeLessThanOrEqual(5);
    // 5 calls per 12 s (the default maxCallMs): far below the ceiling, never above it.
    expect(rate).toBeLessThan(0.1);
  });

  it("starts after an inherited holder's calls have left the window, moved by the skew", async () => {
    let now = 10_000;
    const pacer = new WindowPacer({ qps: 2, clock: () => now, sleep: async (ms) => void (now += ms) });
    pacer.inherit([9_900, 9_950], 40);
    const first = await pacer.start();
    // With 2 bounds and qps 2, the earlier (9 900, moved 40 by the skew) must leave the window first.
    expect(first?.start).toBe(9_900 + 40 + 1003);
    expect(pacer.recent()).toHaveLength(2);
  });

  it('waits for unanswered calls rather than giving up when only their provisional bounds pass `latest`', async () => {
    let now = 0;
    let wake = () => undefined as void;
    const sleep = (ms: number) => new Promise<void>((r) => (wake = () => ((now += ms), r())));
    const tick = () => new Promise((r) => setImmediate(r));
    const pacer = new WindowPacer({ qps: 1, maxCallMs: 12_000, clock: () => now, sleep });
    const a = await pacer.start();
    // Unanswered, a's bound is 12 s away, past `latest` (5 s): the next call waits instead of giving up.
    const next = pacer.start(5_000);
    await tick();
    now = 30;
    pacer.finish(a!, 30); // the answer brings its turn to 30 + 1 003
    await tick();
    wake();
    await expect(next).resolves.toMatchObject({ start: 1033 });
  });

  it('answers undefined when the call could not start by `latest` (the lease would end first)', async () => {
    let now = 0;
    const pacer = new WindowPacer({ qps: 1, clock: () => now, sleep: async (ms) => void (now += ms) });
    const a = await pacer.start();
    pacer.finish(a!, 100);
    await expect(pacer.start(500)).resolves.toBeUndefined();
    await expect(pacer.start()).resolves.toMatchObject({ start: 1103 });
  });
});
