import type { SQSRecord } from 'aws-lambda';
import { parseActionsMessage, type ActionsMessage, type IncidentAction } from '../contracts/actionsMessage';
import type { DeadLetterInfo } from '../contracts/deadLetter';
import { BridgeError } from '../errors';
import { applyIncidentAction, FlashdutyError } from '../flashduty/client';
import { logger } from '../log';
import { backoffSeconds, RetryLaterError, type RetryPolicy } from '../sender/backoff';
import { claimAction, markHanded, releaseAction } from '../store/actions';
import type { TenantRecord } from '../store/secrets';
import type { Table } from '../store/table';
import { incidentUpdateOf } from './incidentUpdate';

/**
 * The actions function's work on one record (docs/two-way.md, "Actions to Flashduty"): validate,
 * claim the action (`ACTION#<tenantId>#<id>`: handed over once), and hand it to Flashduty by the
 * tenant's `actionsVia`: `queue` (default) puts the message as it came on the outbound actions
 * queue; `api` calls the Flashduty Open API with the tenant's APP Key and then sends the cards'
 * `incident.update` itself. A `member.link` always goes to the outbound queue.
 * Invalid messages, unknown tenants and refusals that can never succeed (docs/flashduty-api.md §1:
 * 400, 401, 403) are dead-lettered with the reason; 429, 5xx and no answer come back after a
 * backoff, and are dead-lettered with the reason on the last receive.
 */

export interface ActionDeps {
  table: Table;
  getTenant(tenantId: string): Promise<TenantRecord | undefined>;
  getAppKey(tenantId: string): Promise<string | undefined>;
  /** SendMessage of a body as it is to the outbound actions queue. */
  sendOutbound(body: string, tenantId: string): Promise<void>;
  /** SendMessage of a notify-queue message (incident.update). */
  sendNotify(message: unknown, tenantId: string): Promise<void>;
  deadLetter(body: string, info: DeadLetterInfo): Promise<void>;
  /** Sets the record's visibility: it comes back after `seconds`. */
  delay(record: SQSRecord, seconds: number): Promise<void>;
  flashduty: { baseUrl: string; timeoutMs?: number; fetch?: typeof fetch };
  retry: RetryPolicy;
  now(): number;
}

/** A hand-over that can never succeed: dead-lettered with this reason. */
export class PermanentActionError extends BridgeError {
  constructor(reason: string) {
    super(reason, 422, 'permanent');
  }
}

export type ActionResult = 'handed' | 'skipped' | 'dead-lettered';

async function handOver(deps: ActionDeps, tenant: TenantRecord, message: ActionsMessage, body: string): Promise<'queue' | 'api'> {
  const via = message.action === 'member.link' ? 'queue' : tenant.actionsVia ?? 'queue';
  if (via === 'queue') {
    await deps.sendOutbound(body, message.tenantId);
    return via;
  }
  const action = message as IncidentAction;
  const appKey = await deps.getAppKey(message.tenantId);
  if (!appKey) throw new PermanentActionError(`tenant ${message.tenantId} has actionsVia "api" but no flashdutyAppKey`);
  await applyIncidentAction({ ...deps.flashduty, appKey }, action.action, action.incidentId, action.snoozeMinutes);
  await deps.sendNotify(incidentUpdateOf(action, deps.now()), message.tenantId);
  return via;
}

/**
 * Handles one record; resolves when it is done with (handed over, skipped or dead-lettered),
 * throws {@link RetryLaterError} (after setting the backoff) when it should come back.
 *
 * @example
 * await processPartialResponse(event, (r) => handleAction(deps, r), new BatchProcessor(EventType.SQS), { context });
 */
export async function handleAction(deps: ActionDeps, record: SQSRecord): Promise<ActionResult> {
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount) || 1;
  const base = { source: 'actions' as const, sqsMessageId: record.messageId, receiveCount };
  const parsed = parseActionsMessage(record.body);
  if (!parsed.ok) {
    await deps.deadLetter(record.body, { ...base, reason: parsed.reason });
    logger.warn('action dead-lettered', { reason: parsed.reason });
    return 'dead-lettered';
  }
  const message = parsed.message;
  const ids = { ...base, tenantId: message.tenantId, messageId: message.id };
  const tenant = await deps.getTenant(message.tenantId);
  if (!tenant) {
    await deps.deadLetter(record.body, { ...ids, reason: `unknown tenant ${message.tenantId}` });
    logger.warn('action dead-lettered', { tenantId: message.tenantId, actionId: message.id, reason: 'unknown tenant' });
    return 'dead-lettered';
  }
  const claim = await claimAction(deps.table, message.tenantId, message.id, deps.now());
  if (claim === 'handed') {
    logger.info('action already handed over: skipped', { tenantId: message.tenantId, actionId: message.id });
    return 'skipped';
  }
  if (claim === 'busy') return retry(deps, record, receiveCount, 'another delivery of this action is handing it over', ids, false);
  try {
    const via = await handOver(deps, tenant, message, record.body);
    await markHanded(deps.table, message.tenantId, message.id, via, deps.now());
    logger.info('action handed over', { tenantId: message.tenantId, actionId: message.id, action: message.action, via });
    return 'handed';
  } catch (e) {
    await releaseAction(deps.table, message.tenantId, message.id);
    const permanent = e instanceof PermanentActionError || (e instanceof FlashdutyError && !e.retryable);
    if (permanent) {
      await deps.deadLetter(record.body, { ...ids, reason: (e as Error).message });
      logger.warn('action dead-lettered', { tenantId: message.tenantId, actionId: message.id, reason: (e as Error).message });
      return 'dead-lettered';
    }
    return retry(deps, record, receiveCount, e instanceof BridgeError ? e.message : `${(e as Error).name}: ${(e as Error).message}`, ids, true);
  }
}

/** Backs off (or, on the last receive, dead-letters with the reason) and throws for SQS to redeliver. */
async function retry(deps: ActionDeps, record: SQSRecord, receiveCount: number, reason: string, ids: Omit<DeadLetterInfo, 'reason'>, giveUp: boolean): Promise<ActionResult> {
  if (giveUp && receiveCount >= deps.retry.maxReceiveCount) {
    await deps.deadLetter(record.body, { ...ids, reason: `gave up after ${receiveCount} receives: ${reason}` });
    logger.warn('action dead-lettered', { tenantId: ids.tenantId, actionId: ids.messageId, reason });
    return 'dead-lettered';
  }
  const seconds = backoffSeconds(receiveCount, deps.retry);
  await deps.delay(record, seconds);
  logger.warn('action retried later', { tenantId: ids.tenantId, actionId: ids.messageId, receiveCount, delaySeconds: seconds, reason });
  throw new RetryLaterError(reason, seconds);
}
