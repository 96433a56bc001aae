import { QUEUES } from '../contracts/deployment';

/**
 * The delivery rule per recipient (docs/DESIGN.md, "The delivery rule"): its statuses, which are
 * final, which may be claimed again, and what an attempt does with a record it finds. The records
 * themselves are read and written by lib/delivery/outcomes.ts.
 */

export const OUTCOME_TTL_SECONDS = 30 * 24 * 3600;
/**
 * A claim lives at most as long as the attempt that took it: the sender's Lambda timeout (after
 * which the attempt is dead for sure) plus a margin. SQS redelivers a message only after its
 * visibility timeout (6x the Lambda timeout), so a redelivery always finds an orphaned claim older.
 */
export const CLAIM_LEASE_MS = QUEUES.notify.consumerTimeoutSeconds * 2 * 1000;

/**
 * `member`: a Flashduty member id, resolved to a DingTalk user through its link (docs/two-way.md);
 * `card`: one card an incident.update changes (to = its outTrackId: lib/cards/incidentUpdate.ts).
 */
export type Channel = 'user' | 'group' | 'mobile' | 'member' | 'card';

export type RecipientStatus =
  /** Claimed: a DingTalk call for it is (or was) under way. */
  | 'pending'
  | 'sent'
  /** DingTalk said the userId is not a member of the organisation (invalidStaffIdList). */
  | 'invalidUser'
  /** DingTalk throttled this user (flowControlledStaffIdList): retried later. */
  | 'flowControlled'
  /** No DingTalk user has this mobile (getbymobile 60121): reported, not retried. */
  | 'unknownMobile'
  /** A mobile (or a linked Flashduty member) resolved to `userId`; that user's own record tells the delivery. */
  | 'resolved'
  /** A Flashduty member with no DingTalk user linked (docs/two-way.md, "Linking"): reported, not retried. */
  | 'unlinked'
  /** A retryable failure: the message comes back through SQS for it. */
  | 'retry'
  /** Not sent yet: its app had no rate-limit slot soon; the message was re-queued with a delay. */
  | 'deferred'
  /** The organisation's monthly quota is used up. */
  | 'quotaExhausted'
  /** A permanent DingTalk failure (`code`): the message goes to the dead-letter queue. */
  | 'failed'
  /** Written by earlier versions for an orphaned claim (now claimed again instead); final. */
  | 'unknown'
  /** A card of an incident.update that was never created (DingTalk refused its create): nothing to update; final. */
  | 'notCreated';

/** Not sent again, by any attempt. */
export const FINAL: ReadonlySet<RecipientStatus> = new Set(['sent', 'invalidUser', 'unknownMobile', 'resolved', 'unlinked', 'unknown', 'notCreated']);
/** A later attempt (SQS retry, redrive from the dead-letter queue) may claim these again: DingTalk did not deliver. */
export const CLAIMABLE: readonly RecipientStatus[] = ['retry', 'deferred', 'flowControlled', 'quotaExhausted', 'failed'];

export interface RecipientOutcome {
  channel: Channel;
  to: string;
  status: RecipientStatus;
  code?: string;
  message?: string;
  requestId?: string;
  /** For a mobile or a member: the DingTalk user it resolved to. */
  userId?: string;
  /** The DingTalk processQueryKey of the send that delivered it. */
  processQueryKey?: string;
  /**
   * A call for this recipient got an ambiguous answer, or an attempt died holding its claim: DingTalk
   * may have delivered it, so a later send may be a duplicate. Never cleared once set.
   */
  possibleDuplicate?: boolean;
  attemptId?: string;
  claimedAt?: number;
  updatedAt: string;
}

export type MessageState = 'processing' | 'done' | 'retrying' | 'deadLettered' | 'parked';

export interface MessageRecord {
  tenantId: string;
  id: string;
  kind: string;
  hash: string;
  state: MessageState;
  reason?: string;
  attempts: number;
  firstSeenAt: string;
  updatedAt: string;
  severity?: string;
}

export interface Outcome {
  message?: MessageRecord;
  recipients: RecipientOutcome[];
}

/** The in-memory map key of a recipient (not a table key). */
export const recipientKey = (channel: Channel, to: string): string => `${channel}#${to}`;

/**
 * What an attempt does with a recipient, given its record (if any): claim it; skip it (final);
 * wait for the attempt holding it (`inFlight`); or take over the claim of an attempt that died
 * (`orphaned`: sent again, marked `possibleDuplicate`).
 */
export type Decision = 'claim' | 'skip' | 'inFlight' | 'orphaned';

/** How long until a `pending` claim's lease ends (0 when it has). */
export const leaseLeftMs = (record: Pick<RecipientOutcome, 'claimedAt'>, nowMs: number): number => Math.max(0, (record.claimedAt ?? 0) + CLAIM_LEASE_MS - nowMs);

/**
 * The idempotency rule for one recipient.
 *
 * @example
 * decide({ status: 'pending', claimedAt: now - 10 * 60_000, ... }, now) // 'orphaned'
 */
export function decide(record: Pick<RecipientOutcome, 'status' | 'claimedAt'> | undefined, nowMs: number): Decision {
  if (!record) return 'claim';
  if (record.status === 'pending') return nowMs - (record.claimedAt ?? 0) < CLAIM_LEASE_MS ? 'inFlight' : 'orphaned';
  if (FINAL.has(record.status)) return 'skip';
  return 'claim';
}
