import type { SQSRecord } from 'aws-lambda';
import { parseActionsMessage, type ActionsMessage, type IncidentAction } from '../contracts/actionsMessage';
import type { DeadLetterInfo } from '../contracts/deadLetter';
import { BridgeError } from '../errors';
import { applyIncidentAction, FlashdutyError } from '../flashduty/client';
import { logger } from '../log';
import { backoffSeconds, RetryLaterError, type RetryPolicy } from '../sender/backoff';
import { ACTION_LEASE_MS, claimAction, markHanded, markHanding, releaseAction } from '../store/actions';
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
 *
 * Once a hand-over succeeded it is never given back nor repeated (docs/two-way.md, "Actions to
 * Flashduty"): the record says `handing` before the hand-over, so when the write that says
 * `handed` fails, only that write is retried (the record is left as it is, the message comes back
 * after the lease, and the `handing` record it then finds counts as handed). A dead-lettered
 * incident action names the action, the incident and the presser in its reason and is logged at
 * ERROR: the presser's card keeps its "Acknowledging…" notice (no contract kind tells them).
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

const viaOf = (tenant: TenantRecord, message: ActionsMessage): 'queue' | 'api' => (message.action === 'member.link' ? 'queue' : tenant.actionsVia ?? 'queue');

/** What a dead letter says of the action beyond why: which action, incident and presser (no secret). */
function whatFailed(message: ActionsMessage): string {
  if (message.action === 'member.link') return `member.link of member ${message.by.memberId} to DingTalk user ${message.by.dingtalkUserId}`;
  const who = `DingTalk user ${message.by.dingtalkUserId}${message.by.memberId ? ` (member ${message.by.memberId})` : ''}`;
  return `${message.action} of incident ${message.incidentId} pressed by ${who}: the presser's card still says the action is under way`;
}

/** Dead-letters a valid message: the reason names the action, and an ERROR log says so. */
async function deadLetterAction(deps: ActionDeps, body: string, message: ActionsMessage, ids: Omit<DeadLetterInfo, 'reason'>, why: string): Promise<ActionResult> {
  const reason = `${why}; ${whatFailed(message)}`;
  await deps.deadLetter(body, { ...ids, reason });
  logger.error('action dead-lettered', { tenantId: message.tenantId, actionId: message.id, action: message.action, reason });
  return 'dead-lettered';
}

async function handOver(deps: ActionDeps, tenant: TenantRecord, message: ActionsMessage, body: string): Promise<'queue' | 'api'> {
  const via = viaOf(tenant, message);
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
  if (!tenant) return deadLetterAction(deps, record.body, message, ids, `unknown tenant ${message.tenantId}`);
  const claim = await claimAction(deps.table, message.tenantId, message.id, deps.now());
  if (claim === 'handed') {
    logger.info('action already handed over: skipped', { tenantId: message.tenantId, actionId: message.id });
    return 'skipped';
  }
  if (claim === 'unrecorded') {
    // Handed over by an earlier delivery that could not record it (or died during the hand-over):
    // never handed over again, only recorded (docs/two-way.md, "Actions to Flashduty").
    await markHanded(deps.table, message.tenantId, message.id, viaOf(tenant, message), deps.now());
    logger.warn('action found handing after its lease: counted as handed, not handed over again', { tenantId: message.tenantId, actionId: message.id });
    return 'skipped';
  }
  if (claim === 'busy') return retry(deps, record, receiveCount, 'another delivery of this action is handing it over', ids, false);
  let via: 'queue' | 'api';
  try {
    await markHanding(deps.table, message.tenantId, message.id, deps.now());
    via = await handOver(deps, tenant, message, record.body);
  } catch (e) {
    await releaseAction(deps.table, message.tenantId, message.id).catch((f: Error) => {
      // Left `handing`: the next delivery after the lease counts it as handed (docs/two-way.md).
      logger.error('failed hand-over not given back: the action will be counted as handed', { tenantId: message.tenantId, actionId: message.id, error: f.name });
      throw f;
    });
    const permanent = e instanceof PermanentActionError || (e instanceof FlashdutyError && !e.retryable);
    if (permanent) return deadLetterAction(deps, record.body, message, ids, (e as Error).message);
    return retry(deps, record, receiveCount, e instanceof BridgeError ? e.message : `${(e as Error).name}: ${(e as Error).message}`, ids, true, message);
  }
  // Handed over: from here on the claim is never given back, and only the record is retried.
  try {
    await markHanded(deps.table, message.tenantId, message.id, via, deps.now());
  } catch (e) {
    const seconds = Math.ceil(ACTION_LEASE_MS / 1000) + 1;
    logger.error('action handed over, its record not updated: the record is retried, not the hand-over', { tenantId: message.tenantId, actionId: message.id, via, error: (e as Error).name });
    await deps.delay(record, seconds).catch(() => undefined); // else the queue's visibility timeout
    throw new RetryLaterError(`action ${message.id} handed over, its record not updated`, seconds);
  }
  logger.info('action handed over', { tenantId: message.tenantId, actionId: message.id, action: message.action, via });
  return 'handed';
}

/** Backs off (or, on the last receive, dead-letters with the reason) and throws for SQS to redeliver. */
async function retry(deps: ActionDeps, record: SQSRecord, receiveCount: number, reason: string, ids: Omit<DeadLetterInfo, 'reason'>, giveUp: boolean, message?: ActionsMessage): Promise<ActionResult> {
  if (giveUp && message && receiveCount >= deps.retry.maxReceiveCount) return deadLetterAction(deps, record.body, message, ids, `gave up after ${receiveCount} receives: ${reason}`);
  const seconds = backoffSeconds(receiveCount, deps.retry);
  await deps.delay(record, seconds);
  logger.warn('action retried later', { tenantId: ids.tenantId, actionId: ids.messageId, receiveCount, delaySeconds: seconds, reason });
  throw new RetryLaterError(reason, seconds);
}
