import { createHash, randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSRecord } from 'aws-lambda';
import { QUEUES } from '../constants';
import { NO_SUCH_MOBILE, type DingTalkClient } from '../dingtalk/client';
import type { DingTalkFailure, DingTalkResult } from '../dingtalk/errors';
import { logger as rootLogger } from '../log';
import { parseNotifyMessage, type NotifyQueueMessage, type NotifyRequest } from '../notify/contract';
import { getCachedMobile, putCachedMobile } from '../store/mobiles';
import type { Table } from '../store/table';
import { getTenant } from '../store/tenants';
import type { Tenant } from '../tenant/schema';
import { AccessTokens } from './accessTokens';
import { AppSession } from './appSession';
import { backoffSeconds, delayRedelivery, queueUrlOfArn, RetryLaterError, type RetryPolicy } from './backoff';
import { deadLetter } from './deadLetter';
import { sendText } from '../queue/sqs';
import { noopGate, type CallGate } from './gate';
import { decide, Outcomes, recipientKey, type Channel, type RecipientStatus } from './outcomes';
import { chunk, coolAppCodeOf, dedupe, maskMobile, MAX_USERS_PER_BATCH, runPool } from './recipients';
import { render, type RenderedMessage } from './render';
import { deliverWarRoom } from '../warroom/deliverWarRoom';

/**
 * What became of one message in one attempt:
 * - `done`: every recipient has a final outcome (sent, invalid user, unknown mobile...): acknowledge;
 * - `retry`: something retryable is left: back to SQS with a backoff delay;
 * - `defer`: only calls the rate limiter could not fit soon are left: re-queued with a delay, not a failure;
 * - `quotaExhausted`: the organisation's monthly quota stopped it: park it (or dead-letter it);
 * - `deadLetter`: can never succeed as it is: to the dead-letter queue with `reason`.
 */
export interface DeliveryResult {
  verdict: 'done' | 'retry' | 'defer' | 'quotaExhausted' | 'deadLetter';
  reason?: string;
  /** For `defer`: how long until the rate limiter expects a slot (the message is re-queued with this delay). */
  deferMs?: number;
  /** Recipients by status after this attempt (users, groups and mobiles). */
  counts: Partial<Record<RecipientStatus | 'inFlight', number>>;
  /** The handler kept no delivery record for this message (unknown tenant, re-used id, kind not enabled). */
  untracked?: boolean;
}

/** Everything a kind handler may use. */
export interface DeliveryContext {
  table: Table;
  client: DingTalkClient;
  gate: CallGate;
  tokens: AccessTokens;
  now: () => number;
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  log: Logger;
  /** Concurrent DingTalk sends within one message. */
  concurrency: number;
}

/** Delivers one message of a kind. The extension point: the war room plugs in here. */
export type KindHandler<K extends NotifyQueueMessage['kind']> = (ctx: DeliveryContext, msg: Extract<NotifyQueueMessage, { kind: K }>) => Promise<DeliveryResult>;
export type KindHandlers = { [K in NotifyQueueMessage['kind']]: KindHandler<K> };

export interface SenderDeps {
  table: Table;
  sqs: SQSClient;
  client: DingTalkClient;
  /** Every DingTalk call goes through it (rate limiter, monthly counter). Default: lets all through. */
  gate?: CallGate;
  /** Epoch ms. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The notify dead-letter queue (NOTIFY_DLQ_URL). */
  dlqUrl: string;
  /** The notify queue (for ChangeMessageVisibility); default: derived from the record's eventSourceARN. */
  queueUrl?: string;
  retry?: Partial<RetryPolicy>;
  /** Shared across invocations (module scope); built from the other deps when absent. */
  tokens?: AccessTokens;
  getTenant?: (tenantId: string) => Promise<Tenant | undefined>;
  /** Where a message stopped by the monthly quota goes. Default: the dead-letter queue (the quota issue plugs parking in). */
  park?: (msg: NotifyQueueMessage, reason: string) => Promise<void>;
  handlers?: Partial<KindHandlers>;
  /**
   * Asked before any work on a message: ms to defer it by (its app has no rate-limit slot soon),
   * or 0 to deliver now. Deferring re-queues it with a delay: no delivery records, no DingTalk call.
   */
  precheck?: (msg: NotifyQueueMessage, deferrals: number) => Promise<number>;
  concurrency?: number;
  logger?: Logger;
}

export interface Sender {
  /**
   * Handles one SQS record: resolves when it is done with (delivered, dead-lettered or parked);
   * throws (after delaying its redelivery) when SQS should bring it back: a batch item failure.
   */
  processRecord(record: SQSRecord): Promise<DeliveryResult>;
}

/** Message attribute on a re-queued (deferred) copy: how many times the message was deferred. */
export const DEFERRALS_ATTRIBUTE = 'deferrals';

export const DEFAULT_RETRY: RetryPolicy = { baseSeconds: 5, capSeconds: 900, maxReceiveCount: QUEUES.notify.maxReceiveCount };

/** A stable hash of a validated message: the same id re-sent with other content is detected. */
export const contentHash = (msg: NotifyQueueMessage): string => createHash('sha256').update(JSON.stringify(msg)).digest('hex');

const describe = (f: Pick<DingTalkFailure, 'code' | 'message'>): string => `${f.code} (${f.message})`;

function statusOfFailure(f: DingTalkFailure): RecipientStatus {
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

const failureFields = (f: DingTalkFailure) => ({ status: statusOfFailure(f), code: f.code, message: f.message, requestId: f.requestId });

/**
 * The verdict of an attempt from its recipients' statuses: anything retryable -> retry (the
 * quota and permanent failures are revisited then too); else quota -> park; else a permanent
 * failure -> dead letter; else done.
 */
export function verdictOf(statuses: Iterable<[string, RecipientStatus | 'inFlight', string?]>, deferMs = 0): DeliveryResult {
  const counts: DeliveryResult['counts'] = {};
  let deferred = 0;
  const failed: string[] = [];
  const retry: string[] = [];
  const quota: string[] = [];
  for (const [who, status, detail] of statuses) {
    counts[status] = (counts[status] ?? 0) + 1;
    const line = detail ? `${who}: ${detail}` : who;
    if (status === 'retry' || status === 'flowControlled') retry.push(line);
    else if (status === 'deferred') deferred += 1;
    else if (status === 'quotaExhausted') quota.push(line);
    else if (status === 'failed') failed.push(line);
  }
  const list = (xs: string[]) => `${xs.slice(0, 10).join('; ')}${xs.length > 10 ? `; and ${xs.length - 10} more` : ''}`;
  if (retry.length) return { verdict: 'retry', reason: `retryable: ${list(retry)}`, counts };
  if (deferred) return { verdict: 'defer', reason: `${deferred} recipient(s) waiting for a rate-limit slot`, counts, deferMs };
  if (quota.length) return { verdict: 'quotaExhausted', reason: `monthly quota exhausted: ${list(quota)}`, counts };
  if (failed.length) return { verdict: 'deadLetter', reason: `permanent failure: ${list(failed)}`, counts };
  return { verdict: 'done', counts };
}

/**
 * `notify`: resolve mobiles, DM users 20 per batchSend, post to each group (with its coolAppCode),
 * each recipient claimed before and recorded after its call (see outcomes.ts for the rule).
 */
export const deliverNotify: KindHandler<'notify'> = async (ctx, msg) => {
  const { table, log } = ctx;
  const tenant = await ctx.getTenant(msg.tenantId);
  if (!tenant) return { verdict: 'deadLetter', reason: `unknown tenant ${msg.tenantId}`, counts: {}, untracked: true };

  const outcomes = new Outcomes(table, msg.tenantId, msg.id, ctx.now);
  const begun = await outcomes.begin({ kind: msg.kind, hash: contentHash(msg), severity: msg.severity });
  if (begun.conflict) return { verdict: 'deadLetter', reason: `id ${msg.id} was already used for a different message: not sent`, counts: {}, untracked: true };

  const rendered = render(msg.message);
  if (rendered.truncated) log.warn('message body truncated to fit DingTalk', { bytes: rendered.bytes, originalChars: msg.message.markdown.length });

  const session = new AppSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens }, {
    tenantId: tenant.tenantId,
    corpId: tenant.corpId,
    clientId: tenant.clientId,
    clientSecret: tenant.clientSecret,
  }, msg.severity);
  const snapshot = await outcomes.snapshot();
  const attemptId = randomUUID();
  const final = new Map<string, [string, RecipientStatus | 'inFlight', string?]>();
  let deferMs = 0;
  const note = (channel: Channel, to: string, status: RecipientStatus | 'inFlight', detail?: string, retryAfterMs?: number) => {
    if (retryAfterMs) deferMs = Math.max(deferMs, retryAfterMs);
    final.set(recipientKey(channel, to), [`${channel} ${channel === 'mobile' ? maskMobile(to) : to}`, status, detail]);
  };

  // 1. Mobiles -> userIds (cached per organisation; "no such user" reported, not retried).
  const fromMobiles: string[] = [];
  for (const mobile of dedupe(msg.to.mobiles)) {
    const known = snapshot.get(recipientKey('mobile', mobile));
    if (known?.status === 'resolved' && known.userId) {
      fromMobiles.push(known.userId);
      note('mobile', mobile, 'resolved');
      continue;
    }
    if (known?.status === 'unknownMobile') {
      note('mobile', mobile, 'unknownMobile');
      continue;
    }
    const r = await resolveMobile(ctx, session, tenant.corpId, mobile);
    if (r.kind === 'ok') {
      fromMobiles.push(r.data.userId);
      await outcomes.record('mobile', mobile, undefined, { status: 'resolved', userId: r.data.userId });
      note('mobile', mobile, 'resolved');
    } else if (r.code === NO_SUCH_MOBILE) {
      await outcomes.record('mobile', mobile, undefined, { status: 'unknownMobile', code: r.code, message: r.message });
      note('mobile', mobile, 'unknownMobile');
      log.warn('no DingTalk user with this mobile', { mobile: maskMobile(mobile) });
    } else {
      await outcomes.record('mobile', mobile, undefined, failureFields(r));
      note('mobile', mobile, statusOfFailure(r), describe(r), r.retryAfterMs);
    }
  }

  // 2. Claim: skip what is final or in flight elsewhere; orphaned claims become 'unknown'.
  const claimed = async (channel: Channel, targets: string[]): Promise<string[]> => {
    const mine: string[] = [];
    await Promise.all(
      targets.map(async (to) => {
        const rec = snapshot.get(recipientKey(channel, to));
        const d = decide(rec, ctx.now());
        if (d === 'skip') return note(channel, to, rec!.status);
        if (d === 'inFlight') return note(channel, to, 'inFlight');
        if (d === 'orphaned') {
          await outcomes.markUnknown(channel, to, rec!.attemptId);
          log.warn('orphaned claim: an earlier attempt died mid-send; recorded as unknown, not re-sent', { channel, to: channel === 'mobile' ? maskMobile(to) : to });
          return note(channel, to, 'unknown');
        }
        if (await outcomes.claim(channel, to, attemptId)) mine.push(to);
        else note(channel, to, 'inFlight');
      }),
    );
    const order = new Map(targets.map((t, i) => [t, i]));
    return mine.sort((a, b) => order.get(a)! - order.get(b)!);
  };
  const users = await claimed('user', dedupe([...(msg.to.userIds ?? []), ...fromMobiles]));
  const groups = await claimed('group', dedupe(msg.to.openConversationIds));

  // 3. Send. A claim is released (status 'retry') if the attempt fails before DingTalk answered.
  const tasks = [
    ...chunk(users, MAX_USERS_PER_BATCH).map((ids, i) => () => sendDm(ctx, session, outcomes, attemptId, rendered, ids, i, note)),
    ...groups.map((cid) => () => sendGroup(ctx, session, outcomes, attemptId, rendered, msg, cid, note)),
  ];
  await runPool(tasks, ctx.concurrency);
  return verdictOf(final.values(), deferMs);
};

type Note = (channel: Channel, to: string, status: RecipientStatus, detail?: string, retryAfterMs?: number) => void;

async function resolveMobile(ctx: DeliveryContext, session: AppSession, corpId: string, mobile: string): Promise<DingTalkResult<{ userId: string }>> {
  const cached = await getCachedMobile(ctx.table, corpId, mobile, ctx.now());
  if (cached) {
    return cached.userId
      ? { kind: 'ok', data: { userId: cached.userId }, status: 200 }
      : { kind: 'permanent', code: NO_SUCH_MOBILE, message: 'no such user (cached)', status: 200 };
  }
  const r = await session.getUserIdByMobile(mobile);
  if (r.kind === 'ok') await putCachedMobile(ctx.table, corpId, mobile, r.data.userId, ctx.now());
  else if (r.code === NO_SUCH_MOBILE) await putCachedMobile(ctx.table, corpId, mobile, null, ctx.now());
  return r;
}

/** Calls DingTalk for claimed recipients; if it throws before an answer, gives the claims back. */
async function callReleasing<T>(outcomes: Outcomes, channel: Channel, to: string[], attemptId: string, call: () => Promise<DingTalkResult<T>>): Promise<DingTalkResult<T>> {
  try {
    return await call();
  } catch (e) {
    await Promise.allSettled(to.map((t) => outcomes.record(channel, t, attemptId, { status: 'retry', code: 'internal', message: (e as Error).message })));
    throw e;
  }
}

async function recordAll(ctx: DeliveryContext, outcomes: Outcomes, channel: Channel, attemptId: string, rows: Array<[string, Parameters<Outcomes['record']>[3]]>): Promise<void> {
  const lost: string[] = [];
  await Promise.all(
    rows.map(async ([to, fields]) => {
      if (!(await outcomes.record(channel, to, attemptId, fields))) lost.push(to);
    }),
  );
  if (lost.length) ctx.log.error('claim lost before its outcome was written', { channel, count: lost.length });
}

async function sendDm(ctx: DeliveryContext, session: AppSession, outcomes: Outcomes, attemptId: string, rendered: RenderedMessage, userIds: string[], index: number, note: Note): Promise<void> {
  const r = await callReleasing(outcomes, 'user', userIds, attemptId, () => session.batchSend({ userIds, msgKey: rendered.msgKey, msgParam: rendered.msgParam }));
  if (r.kind !== 'ok') {
    const fields = failureFields(r);
    await recordAll(ctx, outcomes, 'user', attemptId, userIds.map((u) => [u, fields]));
    for (const u of userIds) note('user', u, fields.status, describe(r), r.retryAfterMs);
    ctx.log.warn('batchSend failed', { chunk: index, users: userIds.length, kind: r.kind, code: r.code, requestId: r.requestId });
    return;
  }
  const invalid = new Set(r.data.invalidStaffIdList ?? []);
  const throttled = new Set(r.data.flowControlledStaffIdList ?? []);
  const rows = userIds.map((u): [string, Parameters<Outcomes['record']>[3]] => {
    if (invalid.has(u)) return [u, { status: 'invalidUser', code: 'invalidStaffId', requestId: r.requestId }];
    if (throttled.has(u)) return [u, { status: 'flowControlled', code: 'flowControlled', requestId: r.requestId }];
    return [u, { status: 'sent', requestId: r.requestId, processQueryKey: r.data.processQueryKey }];
  });
  await recordAll(ctx, outcomes, 'user', attemptId, rows);
  for (const [u, f] of rows) note('user', u, f.status, f.code);
  ctx.log.info('batchSend sent', { chunk: index, users: userIds.length, invalid: invalid.size, flowControlled: throttled.size, requestId: r.requestId });
}

async function sendGroup(ctx: DeliveryContext, session: AppSession, outcomes: Outcomes, attemptId: string, rendered: RenderedMessage, msg: NotifyRequest, openConversationId: string, note: Note): Promise<void> {
  const r = await callReleasing(outcomes, 'group', [openConversationId], attemptId, async () => {
    const coolAppCode = await coolAppCodeOf(ctx.table, msg.tenantId, openConversationId);
    return session.groupSend({ openConversationId, msgKey: rendered.msgKey, msgParam: rendered.msgParam, ...(coolAppCode ? { coolAppCode } : {}) });
  });
  if (r.kind !== 'ok') {
    const fields = failureFields(r);
    await recordAll(ctx, outcomes, 'group', attemptId, [[openConversationId, fields]]);
    note('group', openConversationId, fields.status, describe(r), r.retryAfterMs);
    ctx.log.warn('groupSend failed', { openConversationId, kind: r.kind, code: r.code, requestId: r.requestId });
    return;
  }
  await recordAll(ctx, outcomes, 'group', attemptId, [[openConversationId, { status: 'sent', requestId: r.requestId, processQueryKey: r.data.processQueryKey }]]);
  note('group', openConversationId, 'sent');
  ctx.log.info('groupSend sent', { openConversationId, requestId: r.requestId });
}

/** The kinds this sender delivers: notifications, and war rooms (lib/warroom). */
export const defaultHandlers: KindHandlers = {
  notify: deliverNotify,
  'war_room.create': deliverWarRoom,
};

/**
 * The sender core, free of Lambda: validates a queue record, delivers it with the handler for its
 * kind, and settles it: acknowledged, dead-lettered with the reason, parked, or handed back to SQS
 * with an exponential, jittered visibility delay.
 *
 * @example
 * const sender = createSender({ table, sqs, client, gate, dlqUrl, queueUrl });
 * export const handler = async (event: SQSEvent, context: Context) =>
 *   processPartialResponse(event, sender.processRecord, new BatchProcessor(EventType.SQS), { context });
 */
export function createSender(deps: SenderDeps): Sender {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const gate = deps.gate ?? noopGate;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...deps.retry };
  const tokens = deps.tokens ?? new AccessTokens({ table: deps.table, client: deps.client, gate, now, sleep });
  const handlers: KindHandlers = { ...defaultHandlers, ...deps.handlers };
  const baseLog = deps.logger ?? rootLogger;

  const toDeadLetter = async (record: SQSRecord, reason: string, ids: { tenantId?: string; id?: string }, receiveCount: number) =>
    deadLetter(deps.sqs, deps.dlqUrl, record.body, { reason, ...ids, receiveCount });

  return {
    async processRecord(record: SQSRecord): Promise<DeliveryResult> {
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
      const parsed = parseNotifyMessage(record.body);
      if (!parsed.ok) {
        baseLog.error('invalid notify message: dead-lettered', { sqsMessageId: record.messageId, tenantId: parsed.tenantId, notifyId: parsed.id, reason: parsed.reason });
        await toDeadLetter(record, parsed.reason, parsed, receiveCount);
        return { verdict: 'deadLetter', reason: parsed.reason, counts: {} };
      }
      const msg = parsed.message;
      const ids = { tenantId: msg.tenantId, id: msg.id };
      const log = baseLog.createChild({ persistentKeys: { tenantId: msg.tenantId, notifyId: msg.id, kind: msg.kind, sqsMessageId: record.messageId, receiveCount } });
      const ctx: DeliveryContext = { table: deps.table, client: deps.client, gate, tokens, now, getTenant: deps.getTenant ?? ((t) => getTenant(deps.table, t)), log, concurrency: deps.concurrency ?? 4 };
      const outcomes = new Outcomes(deps.table, msg.tenantId, msg.id, now);

      const deferrals = Number(record.messageAttributes?.[DEFERRALS_ATTRIBUTE]?.stringValue ?? '0') || 0;
      const requeue = async (deferMs: number, reason: string): Promise<boolean> => {
        const queueUrl = deps.queueUrl ?? queueUrlOfArn(record.eventSourceARN);
        if (!queueUrl) return false;
        // A fresh copy with a delay: waiting for a slot is not a failed receive, so it never walks
        // a healthy message towards the dead-letter queue. It comes back at most a second early.
        const delaySeconds = Math.min(900, Math.max(1, Math.floor(deferMs / 1000)));
        await sendText(deps.sqs, queueUrl, record.body, delaySeconds, { [DEFERRALS_ATTRIBUTE]: deferrals + 1 });
        log.info('deferred: re-queued until its app has a rate-limit slot', { reason, delaySeconds });
        return true;
      };

      const giveBack = async (reason: string): Promise<never> => {
        const delay = backoffSeconds(receiveCount, retry, deps.random);
        const queueUrl = deps.queueUrl ?? queueUrlOfArn(record.eventSourceARN);
        try {
          if (queueUrl) await delayRedelivery(deps.sqs, queueUrl, record.receiptHandle, delay);
        } catch (e) {
          log.warn('could not delay the redelivery; SQS brings it back after its visibility timeout', { error: e as Error });
        }
        log.warn('delivery incomplete: back to the queue', { reason, delaySeconds: delay });
        throw new RetryLaterError(reason, delay);
      };

      const wait = deps.precheck ? await deps.precheck(msg, deferrals) : 0;
      if (wait > 0 && (await requeue(wait, 'rate limit backlog'))) return { verdict: 'defer', deferMs: wait, counts: {}, untracked: true };

      let result: DeliveryResult;
      try {
        result = await handlers[msg.kind](ctx, msg as never);
      } catch (e) {
        log.error('delivery attempt failed', { error: e as Error });
        const reason = `unexpected error: ${(e as Error).message}`;
        if (receiveCount >= retry.maxReceiveCount) {
          await toDeadLetter(record, `gave up after ${receiveCount} attempts: ${reason}`, ids, receiveCount);
          return { verdict: 'deadLetter', reason, counts: {} };
        }
        return giveBack(reason);
      }

      const settle = async (state: 'done' | 'retrying' | 'deadLettered' | 'parked', reason?: string) => {
        if (result.untracked) return;
        await outcomes.finish(state, reason).catch((e) => log.error('could not record the message state', { error: e as Error }));
      };
      switch (result.verdict) {
        case 'done':
          await settle('done');
          log.info('delivered', { counts: result.counts });
          return result;
        case 'deadLetter':
          await toDeadLetter(record, result.reason ?? 'permanent failure', ids, receiveCount);
          await settle('deadLettered', result.reason);
          log.error('dead-lettered', { reason: result.reason, counts: result.counts });
          return result;
        case 'quotaExhausted':
          if (deps.park) await deps.park(msg, result.reason ?? 'quota exhausted');
          else await toDeadLetter(record, result.reason ?? 'quota exhausted', ids, receiveCount);
          await settle(deps.park ? 'parked' : 'deadLettered', result.reason);
          log.warn(deps.park ? 'parked: monthly quota exhausted' : 'dead-lettered: monthly quota exhausted', { reason: result.reason, counts: result.counts });
          return result;
        case 'defer':
          if (!(await requeue(result.deferMs ?? 1000, result.reason ?? 'deferred'))) return giveBack(result.reason ?? 'deferred');
          await settle('retrying', result.reason);
          return result;
        case 'retry':
          if (receiveCount >= retry.maxReceiveCount) {
            const reason = `gave up after ${receiveCount} attempts: ${result.reason}`;
            await toDeadLetter(record, reason, ids, receiveCount);
            await settle('deadLettered', reason);
            log.error('dead-lettered: retries exhausted', { reason, counts: result.counts });
            return { ...result, verdict: 'deadLetter', reason };
          }
          await settle('retrying', result.reason);
          return giveBack(result.reason ?? 'retryable failure');
      }
    },
  };
}
