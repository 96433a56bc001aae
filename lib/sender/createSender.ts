import { createHash, randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSRecord } from 'aws-lambda';
import { QUEUES } from '../contracts/deployment';
import { NO_SUCH_MOBILE, type DingTalkClient } from '../dingtalk/client';
import type { DingTalkResult } from '../dingtalk/errors';
import { logger as rootLogger } from '../log';
import { parseNotifyMessage, type NotifyQueueMessage, type NotifyRequest, type ParseResult } from '../contracts/notifyMessage';
import type { Table } from '../store/table';
import { getTenant } from '../store/tenants';
import type { Tenant } from '../contracts/tenant';
import { AccessTokens } from '../dingtalk/accessTokens';
import { AppSession, resolveMobile } from '../dingtalk/appSession';
import { backoffSeconds, delayRedelivery, queueUrlOfArn, RetryLaterError, type RetryPolicy } from './backoff';
import { deadLetter } from '../queue/deadLetter';
import { sendText } from '../queue/sqs';
import { noopGate, type CallGate } from '../dingtalk/callGate';
import { CallLedger, coalesceKey, coalesceRecipients, groupBy, type SharedRecipient } from '../notify/coalesce';
import { decide, Outcomes, recipientKey, type Channel, type RecipientOutcome, type RecipientStatus } from '../delivery/outcomes';
import { coolAppCodeOf, dedupe, maskMobile, MAX_USERS_PER_BATCH, runPool } from '../notify/recipients';
import { render, type RenderedMessage } from '../notify/render';
import { describe, failureFields, statusOfFailure, verdictOf, type DeliveryResult } from '../delivery/verdict';
import { deliverWarRoom } from '../warroom/deliverWarRoom';

export { verdictOf, type DeliveryResult } from '../delivery/verdict';

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
  /**
   * Starts delivering a batch (one invocation's records, any number): `notify` messages of one
   * tenant with the same DingTalk message and severity share their batchSend calls, 20 distinct
   * users per call (see coalesce.ts); each keeps its own delivery records and verdict. Returns the
   * record handler for Powertools' `processPartialResponse`: it settles each record as
   * `processRecord` does (throws for a batch item failure), so partial batch failures stay per record.
   * Records it did not start (other kinds, invalid ones) go through `processRecord`.
   *
   * @example
   * export const handler = (event: SQSEvent, context: Context) =>
   *   processPartialResponse(event, sender.prepare(event.Records), processor, { context });
   */
  prepare(records: readonly SQSRecord[]): (record: SQSRecord) => Promise<DeliveryResult>;
}

/** Message attribute on a re-queued (deferred) copy: how many times the message was deferred. */
export const DEFERRALS_ATTRIBUTE = 'deferrals';

export const DEFAULT_RETRY: RetryPolicy = { baseSeconds: 5, capSeconds: 900, maxReceiveCount: QUEUES.notify.maxReceiveCount };

/** A stable hash of a validated message: the same id re-sent with other content is detected. */
export const contentHash = (msg: NotifyQueueMessage): string => createHash('sha256').update(JSON.stringify(msg)).digest('hex');

/** One delivery record to write: the message attempt holding the claim, the recipient, its outcome. */
type Row = readonly [NotifyAttempt, string, Parameters<Outcomes['record']>[3]];

/**
 * One message's attempt at `notify`: its delivery records, the recipients it claimed, and the
 * statuses its verdict is made of. Calls may be shared with other messages (coalescing), records
 * and verdicts never are.
 */
class NotifyAttempt {
  readonly attemptId = randomUUID();
  /** Users (from userIds and resolved mobiles) and groups this attempt claimed: it must call DingTalk for them. */
  users: string[] = [];
  groups: string[] = [];
  private readonly final = new Map<string, [string, RecipientStatus | 'inFlight', string?]>();
  private deferMs = 0;
  private failure?: { error: unknown };

  constructor(
    readonly ctx: DeliveryContext,
    readonly msg: NotifyRequest,
    readonly outcomes: Outcomes,
    readonly session: AppSession,
    readonly rendered: RenderedMessage,
    private readonly snapshot: Map<string, RecipientOutcome>,
  ) {}

  get log(): Logger {
    return this.ctx.log;
  }

  note(channel: Channel, to: string, status: RecipientStatus | 'inFlight', detail?: string, retryAfterMs?: number): void {
    if (retryAfterMs) this.deferMs = Math.max(this.deferMs, retryAfterMs);
    this.final.set(recipientKey(channel, to), [`${channel} ${channel === 'mobile' ? maskMobile(to) : to}`, status, detail]);
  }

  /** A call made for this message threw (its claims were given back): the whole attempt fails, SQS brings it back. */
  fail(error: unknown): void {
    this.failure ??= { error };
  }

  known(channel: Channel, to: string): RecipientOutcome | undefined {
    return this.snapshot.get(recipientKey(channel, to));
  }

  /** Claims `targets` (in order): skips what is final or in flight elsewhere; orphaned claims become 'unknown'. */
  async claim(channel: Channel, targets: string[]): Promise<string[]> {
    const { ctx, outcomes } = this;
    const mine: string[] = [];
    await Promise.all(
      targets.map(async (to) => {
        const rec = this.known(channel, to);
        const d = decide(rec, ctx.now());
        if (d === 'skip') return this.note(channel, to, rec!.status);
        if (d === 'inFlight') return this.note(channel, to, 'inFlight');
        if (d === 'orphaned') {
          await outcomes.markUnknown(channel, to, rec!.attemptId);
          this.log.warn('orphaned claim: an earlier attempt died mid-send; recorded as unknown, not re-sent', { channel, to: channel === 'mobile' ? maskMobile(to) : to });
          return this.note(channel, to, 'unknown');
        }
        if (await outcomes.claim(channel, to, this.attemptId)) mine.push(to);
        else this.note(channel, to, 'inFlight');
      }),
    );
    const order = new Map(targets.map((t, i) => [t, i]));
    return mine.sort((a, b) => order.get(a)! - order.get(b)!);
  }

  /** The verdict of this attempt, or the error of a call that threw. */
  result(): PromiseSettledResult<DeliveryResult> {
    if (this.failure) return { status: 'rejected', reason: this.failure.error };
    return { status: 'fulfilled', value: verdictOf(this.final.values(), this.deferMs) };
  }
}

/**
 * Starts a message's attempt: tenant, content check (a re-used id is refused), rendering, mobiles
 * resolved to users, then users and groups claimed. A result instead when nothing may be sent.
 */
async function openNotify(ctx: DeliveryContext, msg: NotifyRequest): Promise<NotifyAttempt | DeliveryResult> {
  const tenant = await ctx.getTenant(msg.tenantId);
  if (!tenant) return { verdict: 'deadLetter', reason: `unknown tenant ${msg.tenantId}`, counts: {}, untracked: true };

  const outcomes = new Outcomes(ctx.table, msg.tenantId, msg.id, ctx.now);
  const begun = await outcomes.begin({ kind: msg.kind, hash: contentHash(msg), severity: msg.severity });
  if (begun.conflict) return { verdict: 'deadLetter', reason: `id ${msg.id} was already used for a different message: not sent`, counts: {}, untracked: true };

  const rendered = render(msg.message);
  if (rendered.truncated) ctx.log.warn('message body truncated to fit DingTalk', { bytes: rendered.bytes, originalChars: msg.message.markdown.length });

  const session = new AppSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens }, {
    tenantId: tenant.tenantId,
    corpId: tenant.corpId,
    clientId: tenant.clientId,
    clientSecret: tenant.clientSecret,
  }, msg.severity);
  const attempt = new NotifyAttempt(ctx, msg, outcomes, session, rendered, await outcomes.snapshot());
  const fromMobiles = await resolveMobiles(attempt, tenant.corpId);
  attempt.users = await attempt.claim('user', dedupe([...(msg.to.userIds ?? []), ...fromMobiles]));
  attempt.groups = await attempt.claim('group', dedupe(msg.to.openConversationIds));
  return attempt;
}

/** Mobiles -> userIds (cached per organisation; "no such user" reported, not retried). */
async function resolveMobiles(attempt: NotifyAttempt, corpId: string): Promise<string[]> {
  const { ctx, outcomes, msg } = attempt;
  const fromMobiles: string[] = [];
  for (const mobile of dedupe(msg.to.mobiles)) {
    const known = attempt.known('mobile', mobile);
    if (known?.status === 'resolved' && known.userId) {
      fromMobiles.push(known.userId);
      attempt.note('mobile', mobile, 'resolved');
      continue;
    }
    if (known?.status === 'unknownMobile') {
      attempt.note('mobile', mobile, 'unknownMobile');
      continue;
    }
    const r = await resolveMobile(ctx, attempt.session, corpId, mobile);
    if (r.kind === 'ok') {
      fromMobiles.push(r.data.userId);
      await outcomes.record('mobile', mobile, undefined, { status: 'resolved', userId: r.data.userId });
      attempt.note('mobile', mobile, 'resolved');
    } else if (r.code === NO_SUCH_MOBILE) {
      await outcomes.record('mobile', mobile, undefined, { status: 'unknownMobile', code: r.code, message: r.message });
      attempt.note('mobile', mobile, 'unknownMobile');
      attempt.log.warn('no DingTalk user with this mobile', { mobile: maskMobile(mobile) });
    } else {
      await outcomes.record('mobile', mobile, undefined, failureFields(r));
      attempt.note('mobile', mobile, statusOfFailure(r), describe(r), r.retryAfterMs);
    }
  }
  return fromMobiles;
}

/** A `notify` message to deliver, with the context (logger) of its own record. */
export interface NotifyDelivery {
  ctx: DeliveryContext;
  msg: NotifyRequest;
}

/**
 * Delivers `notify` messages together: each message resolves its mobiles and claims its recipients
 * on its own, then the messages whose DingTalk message is the same ({@link coalesceKey}) share
 * their batchSend calls: the union of the users they claimed, 20 distinct users per call, each
 * call through the gate once. A user claimed by several of them gets one DingTalk message,
 * recorded for each. Groups are posted per message. Every message gets its own result, in order:
 * its verdict, or the error of a call made for it (its claims given back) for SQS to retry.
 *
 * @example
 * const [a, b] = await deliverNotifyBatch([{ ctx: ctxA, msg: a }, { ctx: ctxB, msg: b }]);
 * if (a.status === 'fulfilled') a.value.verdict; // 'done'
 */
export async function deliverNotifyBatch(messages: readonly NotifyDelivery[]): Promise<Array<PromiseSettledResult<DeliveryResult>>> {
  const opened = await Promise.allSettled(messages.map(({ ctx, msg }) => openNotify(ctx, msg)));
  const attempts = opened.flatMap((o) => (o.status === 'fulfilled' && o.value instanceof NotifyAttempt ? [o.value] : []));

  // A call that throws fails every message it was made for (runPool would report only the first).
  const forAll = (involved: readonly NotifyAttempt[], call: () => Promise<void>) => async () => {
    try {
      await call();
    } catch (e) {
      for (const a of involved) a.fail(e);
    }
  };
  const tasks: Array<() => Promise<void>> = [];
  for (const same of groupBy(attempts, (a) => coalesceKey(a.msg, a.rendered))) {
    coalesceRecipients(same.map((a) => [a, a.users] as const), MAX_USERS_PER_BATCH).forEach((shared, i) => {
      const holders = [...new Set(shared.flatMap((s) => s.holders))];
      tasks.push(forAll(holders, () => sendDm(shared, i)));
    });
  }
  for (const a of attempts) for (const cid of a.groups) tasks.push(forAll([a], () => sendGroup(a, cid)));
  await runPool(tasks, attempts[0]?.ctx.concurrency ?? 1);

  return opened.map((o) => (o.status === 'rejected' ? o : o.value instanceof NotifyAttempt ? o.value.result() : { status: 'fulfilled', value: o.value }));
}

/**
 * `notify`: resolve mobiles, DM users 20 per batchSend, post to each group (with its coolAppCode),
 * each recipient claimed before and recorded after its call (see outcomes.ts for the rule). One
 * message on its own; the sender's `prepare` coalesces a batch with {@link deliverNotifyBatch}.
 */
export const deliverNotify: KindHandler<'notify'> = async (ctx, msg) => {
  const [r] = await deliverNotifyBatch([{ ctx, msg }]);
  if (r.status === 'rejected') throw r.reason;
  return r.value;
};

/** Calls DingTalk for claimed recipients; if it throws before an answer, gives every claim back. */
async function callReleasing<T>(channel: Channel, claims: ReadonlyArray<readonly [NotifyAttempt, string]>, call: () => Promise<DingTalkResult<T>>): Promise<DingTalkResult<T>> {
  try {
    return await call();
  } catch (e) {
    await Promise.allSettled(claims.map(([a, to]) => a.outcomes.record(channel, to, a.attemptId, { status: 'retry', code: 'internal', message: (e as Error).message })));
    throw e;
  }
}

/** Writes outcomes (each only while its attempt still holds the claim) and notes them for the verdicts. */
async function recordAll(channel: Channel, rows: readonly Row[], detailOf: (fields: Row[2]) => string | undefined = (f) => f.code, retryAfterMs?: number): Promise<void> {
  const lost = new Map<NotifyAttempt, number>();
  await Promise.all(
    rows.map(async ([a, to, fields]) => {
      if (!(await a.outcomes.record(channel, to, a.attemptId, fields))) lost.set(a, (lost.get(a) ?? 0) + 1);
    }),
  );
  for (const [a, count] of lost) a.log.error('claim lost before its outcome was written', { channel, count });
  for (const [a, to, fields] of rows) a.note(channel, to, fields.status, detailOf(fields), retryAfterMs);
}

/** One batchSend for up to 20 distinct users, claimed by one or more messages with the same content. */
async function sendDm(shared: ReadonlyArray<SharedRecipient<NotifyAttempt>>, index: number): Promise<void> {
  const userIds = shared.map((s) => s.to);
  const claims = shared.flatMap((s) => s.holders.map((a) => [a, s.to] as const));
  const lead = shared[0].holders[0];
  const r = await callReleasing('user', claims, () => lead.session.batchSend({ userIds, msgKey: lead.rendered.msgKey, msgParam: lead.rendered.msgParam }));
  // Logged once per message (its notifyId): how many of the call's users were its own.
  const perMessage = new Map<NotifyAttempt, number>();
  for (const [a] of claims) perMessage.set(a, (perMessage.get(a) ?? 0) + 1);
  const coalesced = perMessage.size;
  if (r.kind !== 'ok') {
    const fields = failureFields(r);
    await recordAll('user', claims.map(([a, u]) => [a, u, fields]), () => describe(r), r.retryAfterMs);
    for (const [a, own] of perMessage) a.log.warn('batchSend failed', { chunk: index, users: userIds.length, ownUsers: own, coalesced, kind: r.kind, code: r.code, requestId: r.requestId });
    return;
  }
  const invalid = new Set(r.data.invalidStaffIdList ?? []);
  const throttled = new Set(r.data.flowControlledStaffIdList ?? []);
  const outcomeOf = (u: string): Row[2] => {
    if (invalid.has(u)) return { status: 'invalidUser', code: 'invalidStaffId', requestId: r.requestId };
    if (throttled.has(u)) return { status: 'flowControlled', code: 'flowControlled', requestId: r.requestId };
    return { status: 'sent', requestId: r.requestId, processQueryKey: r.data.processQueryKey };
  };
  await recordAll('user', claims.map(([a, u]) => [a, u, outcomeOf(u)]));
  for (const [a, own] of perMessage) {
    a.log.info('batchSend sent', { chunk: index, users: userIds.length, ownUsers: own, coalesced, invalid: invalid.size, flowControlled: throttled.size, requestId: r.requestId });
  }
}

async function sendGroup(a: NotifyAttempt, openConversationId: string): Promise<void> {
  const { ctx, msg, session, rendered } = a;
  const r = await callReleasing('group', [[a, openConversationId]], async () => {
    const coolAppCode = await coolAppCodeOf(ctx.table, msg.tenantId, openConversationId);
    return session.groupSend({ openConversationId, msgKey: rendered.msgKey, msgParam: rendered.msgParam, ...(coolAppCode ? { coolAppCode } : {}) });
  });
  if (r.kind !== 'ok') {
    await recordAll('group', [[a, openConversationId, failureFields(r)]], () => describe(r), r.retryAfterMs);
    a.log.warn('groupSend failed', { openConversationId, kind: r.kind, code: r.code, requestId: r.requestId });
    return;
  }
  await recordAll('group', [[a, openConversationId, { status: 'sent', requestId: r.requestId, processQueryKey: r.data.processQueryKey }]], () => undefined);
  a.log.info('groupSend sent', { openConversationId, requestId: r.requestId });
}

/** The kinds this sender delivers: notifications, and war rooms (lib/warroom). */
export const defaultHandlers: KindHandlers = {
  notify: deliverNotify,
  'war_room.create': deliverWarRoom,
};

/**
 * The sender core, free of Lambda: validates a queue record, delivers it with the handler for its
 * kind, and settles it: acknowledged, dead-lettered with the reason, parked, or handed back to SQS
 * with an exponential, jittered visibility delay. `prepare` does the same for a whole batch, with
 * `notify` messages of identical content sharing their batchSend calls.
 *
 * @example
 * const sender = createSender({ table, sqs, client, gate, dlqUrl, queueUrl });
 * export const handler = async (event: SQSEvent, context: Context) =>
 *   processPartialResponse(event, sender.prepare(event.Records), new BatchProcessor(EventType.SQS), { context });
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

  /**
   * Validates a record and asks the pre-check (unless `precheck` is false: its calls are already
   * counted): a job to deliver, or the record's result already (invalid: dead-lettered; deferred: re-queued).
   */
  const admit = async (record: SQSRecord, parsed: ParseResult = parseNotifyMessage(record.body), precheck = true): Promise<Admission> => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    if (!parsed.ok) {
      baseLog.error('invalid notify message: dead-lettered', { sqsMessageId: record.messageId, tenantId: parsed.tenantId, notifyId: parsed.id, reason: parsed.reason });
      await toDeadLetter(record, parsed.reason, parsed, receiveCount);
      return { result: { verdict: 'deadLetter', reason: parsed.reason, counts: {} } };
    }
    const msg = parsed.message;
    const log = baseLog.createChild({ persistentKeys: { tenantId: msg.tenantId, notifyId: msg.id, kind: msg.kind, sqsMessageId: record.messageId, receiveCount } });
    const ctx: DeliveryContext = { table: deps.table, client: deps.client, gate, tokens, now, getTenant: deps.getTenant ?? ((t) => getTenant(deps.table, t)), log, concurrency: deps.concurrency ?? 4 };
    const deferrals = Number(record.messageAttributes?.[DEFERRALS_ATTRIBUTE]?.stringValue ?? '0') || 0;
    const job: Job = { record, msg, ctx, log, receiveCount, deferrals };
    const wait = deps.precheck && precheck ? await deps.precheck(msg, deferrals) : 0;
    if (wait > 0 && (await requeue(job, wait, 'rate limit backlog'))) return { result: { verdict: 'defer', deferMs: wait, counts: {}, untracked: true } };
    return { job };
  };

  const requeue = async ({ record, log, deferrals }: Job, deferMs: number, reason: string): Promise<boolean> => {
    const queueUrl = deps.queueUrl ?? queueUrlOfArn(record.eventSourceARN);
    if (!queueUrl) return false;
    // A fresh copy with a delay: waiting for a slot is not a failed receive, so it never walks
    // a healthy message towards the dead-letter queue. It comes back at most a second early.
    const delaySeconds = Math.min(900, Math.max(1, Math.floor(deferMs / 1000)));
    await sendText(deps.sqs, queueUrl, record.body, delaySeconds, { [DEFERRALS_ATTRIBUTE]: deferrals + 1 });
    log.info('deferred: re-queued until its app has a rate-limit slot', { reason, delaySeconds });
    return true;
  };

  const giveBack = async ({ record, log, receiveCount }: Job, reason: string): Promise<never> => {
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

  /** Awaits a job's delivery attempt and settles the record by its verdict. */
  const conclude = async (job: Job, attempt: () => Promise<DeliveryResult>): Promise<DeliveryResult> => {
    const { record, msg, log, receiveCount } = job;
    const ids = { tenantId: msg.tenantId, id: msg.id };
    const outcomes = new Outcomes(deps.table, msg.tenantId, msg.id, now);
    let result: DeliveryResult;
    try {
      result = await attempt();
    } catch (e) {
      log.error('delivery attempt failed', { error: e as Error });
      const reason = `unexpected error: ${(e as Error).message}`;
      if (receiveCount >= retry.maxReceiveCount) {
        await toDeadLetter(record, `gave up after ${receiveCount} attempts: ${reason}`, ids, receiveCount);
        return { verdict: 'deadLetter', reason, counts: {} };
      }
      return giveBack(job, reason);
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
        if (!(await requeue(job, result.deferMs ?? 1000, result.reason ?? 'deferred'))) return giveBack(job, result.reason ?? 'deferred');
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
        return giveBack(job, result.reason ?? 'retryable failure');
    }
  };

  const processRecord = async (record: SQSRecord): Promise<DeliveryResult> => {
    const admitted = await admit(record);
    if ('result' in admitted) return admitted.result;
    const { ctx, msg } = admitted.job;
    return conclude(admitted.job, () => handlers[msg.kind](ctx, msg as never));
  };

  /**
   * Admits the records of one coalescing group and delivers them together. The pre-check counts one
   * call per message: it is asked only for a message that opens a call of its own (see CallLedger),
   * the others ride on the shared batchSend calls already admitted. Never rejects: each record's
   * outcome (admission error, early result, or its job and attempt) comes back in order.
   */
  const deliverGroup = async (members: ReadonlyArray<{ record: SQSRecord; parsed: ParseResult & { ok: true } }>): Promise<Planned[]> => {
    const ledger = new CallLedger(MAX_USERS_PER_BATCH);
    const admissions: Array<PromiseSettledResult<Admission>> = [];
    for (const { record, parsed } of members) {
      const to = (parsed.message as NotifyRequest).to;
      try {
        const a = await admit(record, parsed, ledger.opensCall(to));
        if ('job' in a) ledger.add(to);
        admissions.push({ status: 'fulfilled', value: a });
      } catch (e) {
        admissions.push({ status: 'rejected', reason: e });
      }
    }
    const jobs = admissions.flatMap((a) => (a.status === 'fulfilled' && 'job' in a.value ? [a.value.job] : []));
    const attempts = await deliverNotifyBatch(jobs.map((j) => ({ ctx: j.ctx, msg: j.msg as NotifyRequest }))).catch((e: unknown) =>
      jobs.map((): PromiseSettledResult<DeliveryResult> => ({ status: 'rejected', reason: e })),
    );
    const attemptOf = new Map(jobs.map((j, i) => [j, attempts[i]]));
    return admissions.map((a): Planned => {
      if (a.status === 'rejected') return { error: a.reason };
      if ('result' in a.value) return { result: a.value.result };
      return { job: a.value.job, attempt: attemptOf.get(a.value.job)! };
    });
  };

  return {
    processRecord,

    prepare(records: readonly SQSRecord[]) {
      const planned = new Map<string, Promise<Planned>>();
      if (handlers.notify === deliverNotify) {
        const candidates = records.flatMap((record) => {
          const parsed = parseNotifyMessage(record.body);
          return parsed.ok && parsed.message.kind === 'notify' ? [{ record, parsed, key: coalesceKey(parsed.message, render(parsed.message.message)) }] : [];
        });
        for (const members of groupBy(candidates, (c) => c.key)) {
          const delivered = deliverGroup(members).catch((e: unknown) => members.map((): Planned => ({ error: e })));
          members.forEach((m, i) => planned.set(recordKey(m.record), delivered.then((all) => all[i])));
        }
      }
      return async (record: SQSRecord): Promise<DeliveryResult> => {
        const mine = planned.get(recordKey(record));
        if (!mine) return processRecord(record);
        const p = await mine;
        if ('error' in p) throw p.error;
        if ('result' in p) return p.result;
        const { attempt } = p;
        return conclude(p.job, async () => {
          if (attempt.status === 'rejected') throw attempt.reason;
          return attempt.value;
        });
      };
    },
  };
}

/** A record admitted for delivery, with what its delivery needs. */
interface Job {
  record: SQSRecord;
  msg: NotifyQueueMessage;
  ctx: DeliveryContext;
  log: Logger;
  receiveCount: number;
  deferrals: number;
}

/** A job to deliver, or the record's result without a delivery (invalid, deferred by the pre-check). */
type Admission = { job: Job } | { result: DeliveryResult };

/** A record of a coalescing group, after the group's delivery: to conclude, already settled, or failed before delivery. */
type Planned = { job: Job; attempt: PromiseSettledResult<DeliveryResult> } | { result: DeliveryResult } | { error: unknown };

/** Identifies a record within a batch (the record handler may be given a copy). */
const recordKey = (record: SQSRecord): string => `${record.messageId}\n${record.receiptHandle}`;
