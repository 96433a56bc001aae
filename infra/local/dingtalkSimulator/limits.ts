import { chinaMonth } from '../../../lib/util/chinaTime';
/** QPS window and monthly quota bookkeeping for the DingTalk simulator. */

/**
 * Strict sliding window: an arrival at `at` is admitted only if fewer than `limit` admitted
 * arrivals for the same key lie in the closed interval [at - windowMs, at].
 * Rejected arrivals are not recorded, so they never hold the window shut.
 */
export class SlidingWindow {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly windowMs = 1000) {}

  tryAcquire(key: string, at: number, limit: number): boolean {
    const from = at - this.windowMs;
    const recent = (this.hits.get(key) ?? []).filter((t) => t >= from);
    const ok = recent.length < limit;
    if (ok) recent.push(at);
    this.hits.set(key, recent);
    return ok;
  }

  clear(): void {
    this.hits.clear();
  }
}

/** Calendar month in China Standard Time (UTC+8), e.g. '2025-11': DingTalk resets quotas on the 1st. */
export const monthOf = chinaMonth;

/** Calls used per organisation (corpId) per calendar month. */
export class QuotaBook {
  private readonly used = new Map<string, number>();

  private key(corpId: string, at: number): string {
    return `${corpId}|${monthOf(at)}`;
  }

  get(corpId: string, at: number): number {
    return this.used.get(this.key(corpId, at)) ?? 0;
  }

  set(corpId: string, at: number, n: number): void {
    this.used.set(this.key(corpId, at), n);
  }

  add(corpId: string, at: number): void {
    this.set(corpId, at, this.get(corpId, at) + 1);
  }

  clear(): void {
    this.used.clear();
  }
}
