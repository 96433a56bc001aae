import type { ApplyResult } from '../store/groups';
import type { Table } from '../store/table';

/** What event handling needs from the outside world; tests pass their own table and clock. */
export interface EventDeps {
  table: Table;
  /** Epoch ms. */
  now(): number;
}

/**
 * A queued DingTalk event after validation: everything processing needs, nothing it must re-check.
 * `tenantId` + `eventId` identify it for dedupe.
 */
export interface PreparedEvent<C = unknown> {
  tenantId: string;
  eventId: string;
  eventType: string;
  /** When the callback accepted the push (epoch ms). */
  receivedAtMs: number;
  /** The organisation DingTalk named in the event (`CorpId`), if any. */
  corpId?: string;
  /** The typed change for a known event type; absent for unknown types. */
  change?: C;
}

/**
 * One DingTalk event type: how to read it (throwing InvalidEventError when it can never be
 * applied) and how to apply it.
 */
export interface EventModule<C> {
  readonly eventType: string;
  parse(event: Record<string, unknown>, meta: { eventId: string; receivedAtMs: number }): C;
  apply(deps: EventDeps, tenantId: string, change: C): Promise<ApplyResult>;
}

/**
 * What processing one event did. Stored by the dedupe record (so only JSON values, never undefined)
 * and returned again, with `duplicate: true`, for a repeated eventId.
 */
export interface EventOutcome {
  eventType: string;
  /** `ignored`: unknown event type, acknowledged. */
  result: ApplyResult | 'ignored';
  /** The organisation and China-time month the event was counted for, when the organisation is known. */
  countedFor?: { corpId: string; month: string };
  duplicate?: boolean;
}

/** What the record handler reports for one SQS record. */
export type RecordOutcome = EventOutcome | { result: 'dead-lettered'; reason: string };
