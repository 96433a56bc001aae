import type { DingTalkFailure } from '../dingtalk/errors';
import type { Channel, RecipientStatus } from '../delivery/rule';
import { verdictOf, type DeliveryResult } from '../delivery/verdict';
import { maskMobile } from '../util/mask';

type Line = [who: string, status: RecipientStatus | 'inFlight', detail?: string];

/**
 * What a war-room attempt did, by recipient (`user`, `mobile`, `member`, `group`, or the
 * `warRoom` itself), and its verdict with the sender's rule ({@link verdictOf}); mobiles are masked.
 *
 * @example
 * const tally = new Tally();
 * tally.note('member', 'fd-1', 'unlinked', 'no DingTalk user linked');
 * return tally.result(); // { verdict: 'done', counts: { unlinked: 1 } }
 */
export class Tally {
  private readonly lines = new Map<string, Line>();
  private deferMs = 0;

  note(channel: Channel | 'warRoom', to: string, status: Line[1], detail?: string, failure?: Pick<DingTalkFailure, 'retryAfterMs'>): void {
    this.lines.set(`${channel}#${to}`, [`${channel} ${channel === 'mobile' ? maskMobile(to) : to}`, status, detail]);
    if (status === 'deferred' || status === 'inFlight' || status === 'retry') this.deferMs = Math.max(this.deferMs, failure?.retryAfterMs ?? 0);
  }

  /** The verdict of what was noted; with `over`, that verdict and reason instead (the counts kept). */
  result(over?: Pick<DeliveryResult, 'verdict' | 'reason'>): DeliveryResult {
    const v = verdictOf(this.lines.values(), this.deferMs, 'call(s)');
    return over ? { ...over, counts: v.counts } : v;
  }
}
