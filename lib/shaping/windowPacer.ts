import { realSleep, systemClock, type Clock, type Sleep } from '../util/time';

/**
 * Paces one app's calls to one DingTalk API, in one process, against DingTalk's strict limit: at
 * most `qps` arrivals in any closed 1000 ms window (docs/DESIGN.md, "Shaping").
 *
 * It keeps, for each recent call, an upper bound of when DingTalk received it: the moment its
 * answer came back (DingTalk cannot answer a call before it received it), or, while no answer has
 * come, its start plus `maxCallMs` (longer than any call may take). A call may start at `t` only
 * when fewer than `qps` recent calls have a bound later than `t - windowMs - 3` (3 ms for two
 * millisecond clocks). Proof: if qps + 1 arrivals shared a closed window, the last of them to start
 * found the other qps with bounds at or after its own start - windowMs, since each arrived no
 * earlier than that start - windowMs and no later than its bound. No assumption about jitter,
 * timer lateness or the send path: a slow network, a late timer or a busy CPU delays calls, never
 * bunches them, and no slot is thrown away. The price: a call holds its place in the window for its
 * round trip (about 0.97 of the ceiling at a 30 ms round trip).
 *
 * One pacer per app and API at a time: the lane lease (lib/lanes/lease.ts) makes this process the
 * only sender of the app's robot calls while it holds the lease, and hands the bounds on.
 *
 * @example
 * const pacer = new WindowPacer({ qps: 20 });
 * const call = await pacer.start();
 * const r = await client.batchSend(token, req);
 * pacer.finish(call);
 */
export class WindowPacer {
  readonly qps: number;
  readonly windowMs: number;
  readonly maxCallMs: number;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  /** Recent calls: start and, once answered, end (epoch ms). */
  private calls: PacedCall[] = [];
  /** Bounds inherited from the previous holder (already including the clock-skew margin). */
  private inherited: number[] = [];
  private tail: Promise<unknown> = Promise.resolve();
  private changed?: () => void;

  constructor(opts: { qps: number; windowMs?: number; maxCallMs?: number; clock?: Clock; sleep?: Sleep }) {
    if (!(opts.qps >= 1) || !Number.isInteger(opts.qps)) throw new RangeError(`qps must be a positive integer, got ${opts.qps}`);
    this.qps = opts.qps;
    this.windowMs = opts.windowMs ?? 1000;
    this.maxCallMs = opts.maxCallMs ?? DEFAULT_MAX_CALL_MS;
    this.clock = opts.clock ?? systemClock;
    this.sleep = opts.sleep ?? realSleep;
  }

  /** Upper bound of the arrival of a call. */
  private boundOf(c: PacedCall): number {
    return Math.min(c.end ?? Infinity, c.start + this.maxCallMs);
  }

  /** The earliest time a new call may start, from what is known now. */
  earliest(): number {
    const now = this.clock();
    const horizon = this.windowMs + 3;
    // Forget what can no longer share a window with a call starting now.
    this.calls = this.calls.filter((c) => this.boundOf(c) + horizon > now);
    this.inherited = this.inherited.filter((b) => b + horizon > now);
    const until = [...this.calls.map((c) => this.boundOf(c)), ...this.inherited].map((b) => b + horizon).sort((a, b) => b - a);
    // Fewer than qps bounds may lie after the start: it waits for the qps-th latest to age out.
    return until.length < this.qps ? now : until[this.qps - 1];
  }

  /**
   * Waits until a call may start and records its start. Calls start in the order they asked.
   * `latest` (epoch ms): give up, answering undefined, when the call could not start by then.
   */
  start(latest = Infinity): Promise<PacedCall | undefined> {
    const turn = this.tail.then(() => this.waitTurn(latest));
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async waitTurn(latest: number): Promise<PacedCall | undefined> {
    for (;;) {
      const at = this.earliest();
      const now = this.clock();
      // Past `latest` (a timer that woke late included): not started. A turn beyond it only because
      // of calls still unanswered (bounded by maxCallMs until then) waits for their answers.
      if (now > latest || (at > latest && !this.calls.some((c) => c.end === undefined))) return undefined;
      if (now >= at) {
        const call: PacedCall = { start: now };
        this.calls.push(call);
        return call;
      }
      // An answer arriving meanwhile can bring the time forward: wake on it too.
      await Promise.race([this.sleep(Math.ceil(Math.min(at, latest + 1) - now)), new Promise<void>((r) => (this.changed = r))]);
      this.changed = undefined;
    }
  }

  /** Records that DingTalk answered `call` (or that it failed) now. */
  finish(call: PacedCall, at: number = this.clock()): void {
    call.end = Math.max(call.start, at);
    this.changed?.();
  }

  /** The arrival bounds of the calls that may still matter to a successor (for the lease hand-over). */
  recent(): number[] {
    this.earliest();
    return [...this.calls.map((c) => this.boundOf(c)), ...this.inherited].sort((a, b) => a - b).slice(-this.qps);
  }

  /** Takes the previous holder's bounds, moved `skewMs` later for the difference between the two clocks. */
  inherit(bounds: readonly number[], skewMs: number): void {
    this.inherited = [...this.inherited, ...bounds.map((b) => b + skewMs)];
  }
}

/** One call as the pacer sees it. */
export interface PacedCall {
  start: number;
  end?: number;
}

/**
 * The bound of a call that never reported an answer (its code threw): longer than the client's
 * timeout (8 s by default) with room to spare. Such a call holds its place in the window this long.
 */
export const DEFAULT_MAX_CALL_MS = 12_000;

/**
 * Largest clock difference assumed between two Lambda instances handing an app's lease on: the
 * inherited bounds are moved this much later.
 */
export const DEFAULT_SKEW_MS = 40;
