/** Shared types of the delivery primitives: injectable time, message severity. */

/** Current time, epoch ms. Inject a fake one in tests. */
export type Clock = () => number;

/** Resolves after `ms` milliseconds. Inject a fake one in tests. */
export type Sleep = (ms: number) => Promise<void>;

/** The notify message's `severity` (DESIGN.md). Only `critical` may use the quota reserve. */
export type Severity = 'critical' | 'warning' | 'info';

export const systemClock: Clock = () => Date.now();

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
