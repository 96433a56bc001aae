import type { SQSRecord } from 'aws-lambda';
import type { NotifyQueueMessage } from '../contracts/notifyMessage';
import type { TenantRecord as Tenant } from '../store/secrets';
import type { DeliveryResult } from '../delivery/verdict';
import { messageKeyFor } from './backlog';

/** A message of a notify batch, with its tenant: what the lanes route. */
export interface Entry {
  record: SQSRecord;
  tenant: Tenant;
  /** The notify message's id. */
  id: string;
  critical: boolean;
  /** A notify message's content and severity (what coalescing compares); none for a war room. */
  content?: string;
}

export const entryOf = (record: SQSRecord, tenant: Tenant, m: NotifyQueueMessage): Entry => ({
  record,
  tenant,
  id: m.id,
  critical: m.kind === 'war_room.create' || m.severity === 'critical',
  content: m.kind === 'notify' ? JSON.stringify([m.severity ?? null, m.message]) : undefined,
});

/**
 * Two messages of one app in a batch share their content: a page fanned out to many users, one
 * message each, likely with more in other batches. It goes through the backlog, where the drain
 * coalesces it 20 users a call however it arrived.
 */
export function fanOut(group: readonly Entry[]): boolean {
  const messages = new Map(group.map((g) => [messageKeyOf(g), g.content ?? messageKeyOf(g)]));
  return new Set(messages.values()).size < messages.size;
}

/** Two copies of one message (SQS delivers at least once) share this. */
export const messageKeyOf = (e: Entry): string => messageKeyFor(e.tenant.tenantId, e.id);

/** What a message moved to the backlog is answered with (acknowledged from the notify queue). */
export const QUEUED: DeliveryResult = { verdict: 'defer', reason: "in its app's backlog: sent at the app's pace by its lane's holder", counts: {}, untracked: true };
