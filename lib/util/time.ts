/** Injectable time: a clock and a sleep that tests replace. */

/** Current time, epoch ms. Inject a fake one in tests. */
export type Clock = () => number;

/** Resolves after `ms` milliseconds. Inject a fake one in tests. */
export type Sleep = (ms: number) => Promise<void>;

export const systemClock: Clock = () => Date.now();

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
