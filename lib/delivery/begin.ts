import type { NotifyQueueMessage } from '../contracts/notifyMessage';
import type { AppTenant } from '../store/secrets';
import { contentHash } from './contentHash';
import { Outcomes, type OutcomeStore } from './outcomes';
import { outcomesFor, type DeliveryContext } from './types';
import type { DeliveryResult } from './verdict';

/** A message whose attempt has begun: its tenant and its delivery records (docs/DESIGN.md, "The delivery rule"). */
export interface Begun {
  tenant: AppTenant;
  outcomes: OutcomeStore;
  begun: { attempts: number; firstSeenAt?: number };
}

/**
 * How every kind starts an attempt: the tenant (unknown: dead-lettered), then the message's record
 * begun with its content hash (an id re-used for other content: dead-lettered, nothing sent).
 * `batched: false` keeps the records out of a lane's batches (the war-room kinds write theirs one by one).
 *
 * @example
 * const b = await beginMessage(ctx, msg);
 * if ('verdict' in b) return b;
 */
export async function beginMessage(ctx: DeliveryContext, msg: NotifyQueueMessage, opts: { batched?: boolean } = {}): Promise<Begun | DeliveryResult> {
  const tenant = await ctx.getTenant(msg.tenantId);
  if (!tenant) return { verdict: 'deadLetter', reason: `unknown tenant ${msg.tenantId}`, counts: {}, untracked: true };
  const outcomes = opts.batched === false ? new Outcomes(ctx.table, msg.tenantId, msg.id, ctx.now) : outcomesFor(ctx, msg.tenantId, msg.id);
  const begun = await outcomes.begin({ kind: msg.kind, hash: contentHash(msg), severity: msg.severity });
  if (begun.conflict) return { verdict: 'deadLetter', reason: `id ${msg.id} was already used for a different message: not sent`, counts: {}, untracked: true };
  return { tenant, outcomes, begun };
}
