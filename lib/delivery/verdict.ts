import { isAmbiguous, type DingTalkFailure } from '../dingtalk/errors';
import type { RecipientOutcome, RecipientStatus } from './rule';

/**
 * What became of one message in one attempt:
 * - `done`: every recipient has a final outcome (sent, invalid user, unknown mobile...): acknowledge;
 * - `retry`: something retryable is left: back to SQS with a backoff delay;
 * - `defer`: only calls the rate limiter could not fit soon, or recipients another attempt holds, are
 *   left: re-queued with a delay (until the slot, or the holder's lease end), not a failure;
 * - `quotaExhausted`: the organisation's monthly quota stopped it: park it (or dead-letter it);
 * - `deadLetter`: can never succeed as it is: to the dead-letter queue with `reason`.
 */
export interface DeliveryResult {
  verdict: 'done' | 'retry' | 'defer' | 'quotaExhausted' | 'deadLetter';
  reason?: string;
  /**
   * For `defer`: how long until the rate limiter expects a slot (the message is re-queued with this
   * delay). For `retry`: the least wait DingTalk asked for (a per-minute limit, an IP ban), if any.
   */
  deferMs?: number;
  /** Recipients by status after this attempt (users, groups and mobiles). */
  counts: Partial<Record<RecipientStatus | 'inFlight', number>>;
  /** The handler kept no delivery record for this message (unknown tenant, re-used id, kind not enabled). */
  untracked?: boolean;
}

/** A failure for a reason line: `code (message)`. */
export const describe = (f: Pick<DingTalkFailure, 'code' | 'message'>): string => `${f.code} (${f.message})`;

/** The recipient status a failed call leaves. */
export function statusOfFailure(f: DingTalkFailure): 'quotaExhausted' | 'failed' | 'deferred' | 'retry' {
  switch (f.kind) {
    case 'quotaExhausted':
      return 'quotaExhausted';
    case 'permanent':
      return 'failed';
    case 'retryable':
      return f.cause === 'deferred' ? 'deferred' : 'retry';
    default:
      return 'retry';
  }
}

/** The delivery-record fields of a failed call. */
export type OutcomeFields = Omit<RecipientOutcome, 'channel' | 'to' | 'updatedAt' | 'attemptId' | 'claimedAt'>;
export const failureFields = (f: DingTalkFailure): OutcomeFields => ({
  status: statusOfFailure(f),
  code: f.code,
  message: f.message,
  requestId: f.requestId,
  ...(isAmbiguous(f) ? { possibleDuplicate: true } : {}),
});

/**
 * The verdict of an attempt from its recipients' statuses: anything retryable -> retry (the
 * quota and permanent failures are revisited then too); else rate-limit deferred or held by another
 * attempt (`inFlight`) -> defer by `deferMs`; else quota -> park; else a permanent failure -> dead
 * letter; else done. `deferredWhat` names what waits in the defer reason. Nothing in flight is ever
 * taken for done: the holder may die, and its recipient is then this message's to send.
 */
export function verdictOf(statuses: Iterable<[string, RecipientStatus | 'inFlight', string?]>, deferMs = 0, deferredWhat = 'recipient(s)'): DeliveryResult {
  const counts: DeliveryResult['counts'] = {};
  let deferred = 0;
  const failed: string[] = [];
  const retry: string[] = [];
  const quota: string[] = [];
  for (const [who, status, detail] of statuses) {
    counts[status] = (counts[status] ?? 0) + 1;
    const line = detail ? `${who}: ${detail}` : who;
    if (status === 'retry' || status === 'flowControlled') retry.push(line);
    else if (status === 'deferred' || status === 'inFlight') deferred += 1;
    else if (status === 'quotaExhausted') quota.push(line);
    else if (status === 'failed') failed.push(line);
  }
  const list = (xs: string[]) => `${xs.slice(0, 10).join('; ')}${xs.length > 10 ? `; and ${xs.length - 10} more` : ''}`;
  if (retry.length) return { verdict: 'retry', reason: `retryable: ${list(retry)}`, counts, ...(deferMs ? { deferMs } : {}) };
  if (deferred) return { verdict: 'defer', reason: `${deferred} ${deferredWhat} waiting for a rate-limit slot or another attempt's claim`, counts, deferMs };
  if (quota.length) return { verdict: 'quotaExhausted', reason: `monthly quota exhausted: ${list(quota)}`, counts };
  if (failed.length) return { verdict: 'deadLetter', reason: `permanent failure: ${list(failed)}`, counts };
  return { verdict: 'done', counts };
}
