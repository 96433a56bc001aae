import { createHash } from 'node:crypto';
import type { NotifyRequest, Recipients } from '../contracts/notifyMessage';
import { chunk } from '../util/lists';
import type { RenderedMessage } from './render';

/**
 * Coalescing: within one SQS batch, `notify` messages of one tenant whose DingTalk message is the
 * same (same msgKey and msgParam, same severity) share their batchSend calls: the union of the
 * users they claimed goes out 20 distinct users per call. Each message keeps its own delivery
 * records, claims and verdict (the sender does that part); this module only decides who shares
 * what.
 */

/**
 * The key under which messages may share DingTalk calls: tenant (the app and its token), severity
 * (what the gate sees) and the rendered message; a page about an incident also by its incident, so
 * card pages are grouped only with pages of their own incident (they never share a batchSend:
 * lib/cards/deliverCards.ts).
 *
 * @example
 * coalesceKey(msg, render(msg.message)) === coalesceKey(sameContentOtherUsers, render(sameContentOtherUsers.message)) // true
 */
export function coalesceKey(msg: Pick<NotifyRequest, 'tenantId' | 'severity'> & Partial<Pick<NotifyRequest, 'incident'>>, rendered: Pick<RenderedMessage, 'msgKey' | 'msgParam'>): string {
  return createHash('sha256')
    .update(JSON.stringify([msg.tenantId, msg.severity ?? null, rendered.msgKey, rendered.msgParam, ...(msg.incident ? [msg.incident.id] : [])]))
    .digest('hex');
}

/** One recipient of a shared call, and every holder (message attempt) that claimed it. */
export interface SharedRecipient<H> {
  to: string;
  holders: H[];
}

/**
 * The union of what each holder claimed, in chunks of at most `size` distinct recipients: a
 * recipient claimed by several holders appears once, with all of them. Recipients keep the order
 * in which they first appear (holder by holder).
 *
 * @example
 * coalesceRecipients([['m1', ['u1', 'u2']], ['m2', ['u2', 'u3']]], 2)
 * // [[{ to: 'u1', holders: ['m1'] }, { to: 'u2', holders: ['m1', 'm2'] }], [{ to: 'u3', holders: ['m2'] }]]
 */
export function coalesceRecipients<H>(claims: ReadonlyArray<readonly [H, readonly string[]]>, size: number): SharedRecipient<H>[][] {
  const byRecipient = new Map<string, SharedRecipient<H>>();
  for (const [holder, recipients] of claims) {
    for (const to of recipients) {
      const shared = byRecipient.get(to);
      if (!shared) byRecipient.set(to, { to, holders: [holder] });
      else if (!shared.holders.includes(holder)) shared.holders.push(holder);
    }
  }
  return chunk([...byRecipient.values()], size);
}
