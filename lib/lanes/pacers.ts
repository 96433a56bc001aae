import type { DingTalkApi } from '../dingtalk/errors';
import { WindowPacer } from '../shaping/windowPacer';
import type { RecentCalls } from './lease';

/** The robot APIs an app's lane paces (the calls every page makes). Others use the shared limiter. */
export const PACED_APIS: readonly DingTalkApi[] = ['batchSend', 'groupSend'];

/**
 * The window pacers of one process, per app and paced API, kept across the invocations of a warm
 * instance (lib/lanes/lanes.ts uses the one of a lane it holds).
 *
 * @example
 * const pacers = new AppPacers();
 * const call = await pacers.of('dingabc', 'batchSend', 20).start();
 */
export class AppPacers {
  private readonly pacers = new Map<string, WindowPacer>();

  constructor(private readonly maxCallMs?: number) {}

  of(clientId: string, api: DingTalkApi, qps: number): WindowPacer {
    const key = `${clientId}|${api}`;
    const p = this.pacers.get(key);
    if (p?.qps === qps) return p;
    const next = new WindowPacer({ qps, maxCallMs: this.maxCallMs });
    // A new limit keeps the calls already made in the window.
    if (p) next.inherit(p.recent(), 0);
    this.pacers.set(key, next);
    return next;
  }

  /** Whether the app made half its QPS or more on an API in the second before `now`: a storm, not a quiet page. */
  busy(clientId: string, qps: number, now: number): boolean {
    return PACED_APIS.some((api) => this.of(clientId, api, qps).recent().filter((b) => b > now - 1000).length * 2 >= qps);
  }

  /** The bounds of the app's last calls, per API (what a lane hands on). */
  recent(clientId: string, qps: number): RecentCalls {
    return Object.fromEntries(PACED_APIS.map((api) => [api, this.of(clientId, api, qps).recent()]));
  }

  /** Takes what the lane's previous holder left, `skewMs` later. */
  inherit(clientId: string, qps: number, recent: RecentCalls, skewMs: number): void {
    for (const api of PACED_APIS) this.of(clientId, api, qps).inherit(recent[api] ?? [], skewMs);
  }
}
