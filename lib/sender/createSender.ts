import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { TenantMetricsSink } from '../metrics';
import type { SQSRecord } from 'aws-lambda';
import { QUEUES } from '../contracts/deployment';
import { parseNotifyMessage, type NotifyQueueMessage, type NotifyRequest, type ParseResult } from '../contracts/notifyMessage';
import { AccessTokens } from '../dingtalk/accessTokens';
import { noopGate, type CallGate } from '../dingtalk/callGate';
import type { DingTalkClient } from '../dingtalk/client';
import { LaneRecords } from '../delivery/laneRecords';
import { Slots } from '../util/pool';
import { outcomesFor, type DeliveryContext, type KindHandlers } from '../delivery/types';
import type { DeliveryResult } from '../delivery/verdict';
import { logger as rootLogger } from '../log';
import { coalesceKey } from '../notify/coalesce';
import { groupBy } from '../util/lists';
import { deliverNotify, deliverNotifyBatch } from '../notify/deliverNotify';
import { render } from '../notify/render';
import { deadLetter } from '../queue/deadLetter';
import { FIRST_QUEUED_AT, firstQueuedAt, sendText } from '../queue/sqs';
import type { Table } from '../store/table';
import { getTenant } from '../store/tenants';
import { withAppSecret, type AppTenant } from '../store/secrets';
import { backoffSeconds, delayRedelivery, queueUrlOfArn, RetryLaterError, type RetryPolicy } from './backoff';
import { defaultHandlers } from './kinds';

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
  getTenant?: (tenantId: string) => Promise<AppTenant | undefined>;
  /** Where a message stopped by the monthly quota goes. Default: the dead-letter queue (the quota issue plugs parking in). */
  park?: (msg: NotifyQueueMessage, reason: string) => Promise<void>;
  handlers?: Partial<KindHandlers>;
  concurrency?: number;
  logger?: Logger;
  /** Where delivery metrics go (possible duplicates). */
  metrics?: Metrics;
  /** Where per-tenant delivery metrics go (queue-to-DingTalk latency). */
  tenantMetrics?: TenantMetricsSink;
  /** PUBLIC_URL: the base of the card callback route (lib/cards); without it incident pages stay static action cards. */
  publicUrl?: string;
}

export interface Sender {
  /**
   * Handles one SQS record: resolves when it is done with (delivered, dead-lettered or parked);
   * throws (after delaying its redelivery) when SQS should bring it back: a batch item failure.
   */
  processRecord(record: SQSRecord, deadline?: number): Promise<DeliveryResult>;
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
  prepare(records: readonly SQSRecord[], opts?: PrepareOptions): (record: SQSRecord) => Promise<DeliveryResult>;
}

export interface PrepareOptions {
  /** Epoch ms after which no DingTalk call may start (see {@link callDeadline}). */
  deadline?: number;
  /** Concurrent DingTalk calls for the batch (a lane: its app's QPS); default the sender's. */
  concurrency?: number;
  /**
   * The batch is delivered under its app's lane (lib/lanes), with no other attempt for the app at
   * once: its delivery records are batched (lib/delivery/laneRecords.ts). No two records of the
   * batch may carry the same message.
   */
  lane?: boolean;
}

/** Time kept free at the end of an invocation beyond one DingTalk call's timeout: writing outcomes, settling records. */
export const DEADLINE_MARGIN_MS = 3000;

/**
 * The last moment a DingTalk call may start in this invocation: its remaining time less the client
 * timeout and {@link DEADLINE_MARGIN_MS}, so no call outlives the invocation holding a claim.
 *
 * @example
 * sender.prepare(event.Records, { deadline: callDeadline(context, config.DINGTALK_TIMEOUT_MS) });
 */
export const callDeadline = (context: { getRemainingTimeInMillis(): number }, clientTimeoutMs: number, now: number = Date.now()): number =>
  now + context.getRemainingTimeInMillis() - clientTimeoutMs - DEADLINE_MARGIN_MS;

/**
 * `eventSource` of a record read from an app's backlog (lib/lanes) rather than received from SQS: it
 * has no receipt handle, so a retry is a fresh delayed copy on the notify queue.
 */
export const BACKLOG_SOURCE = 'bridge:backlog';

export const DEFAULT_RETRY: RetryPolicy = { baseSeconds: 5, capSeconds: 900, maxReceiveCount: QUEUES.notify.maxReceiveCount };

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
    deadLetter(deps.sqs, deps.dlqUrl, record.body, { source: 'sender', reason, tenantId: ids.tenantId, messageId: ids.id, sqsMessageId: record.messageId, receiveCount }, now());

  /** Validates a record: a job to deliver, or the record's result already (invalid: dead-lettered). */
  const admit = async (record: SQSRecord, { deadline, concurrency, records, slots }: Shared, parsed: ParseResult = parseNotifyMessage(record.body)): Promise<Admission> => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    if (!parsed.ok) {
      baseLog.error('invalid notify message: dead-lettered', { sqsMessageId: record.messageId, tenantId: parsed.tenantId, notifyId: parsed.id, reason: parsed.reason });
      await toDeadLetter(record, parsed.reason, parsed, receiveCount);
      return { result: { verdict: 'deadLetter', reason: parsed.reason, counts: {} } };
    }
    const msg = parsed.message;
    const log = baseLog.createChild({ persistentKeys: { tenantId: msg.tenantId, notifyId: msg.id, kind: msg.kind, sqsMessageId: record.messageId, receiveCount } });
    const ctx: DeliveryContext = {
      table: deps.table, client: deps.client, gate, tokens, now, getTenant: deps.getTenant ?? ((t) => withAppSecret(deps.table, t, (id) => getTenant(deps.table, id))), log,
      concurrency: concurrency ?? deps.concurrency ?? 4, deadline, metrics: deps.metrics, tenantMetrics: deps.tenantMetrics, records, slots,
      queuedAt: firstQueuedAt(record), publicUrl: deps.publicUrl,
    };
    return { job: { record, msg, ctx, log, receiveCount } };
  };

  const requeue = async ({ record, msg, log, ctx }: Job, deferMs: number, reason: string): Promise<boolean> => {
    const queueUrl = deps.queueUrl ?? queueUrlOfArn(record.eventSourceARN);
    if (!queueUrl) return false;
    // A fresh copy with a delay: waiting (for a claim's lease, DingTalk's wait) is not a failed
    // receive, so it never walks a healthy message towards the dead-letter queue.
    const delaySeconds = Math.min(900, Math.max(1, Math.ceil(deferMs / 1000)));
    await sendText(deps.sqs, queueUrl, record.body, { delaySeconds, groupId: msg.tenantId, numbers: { [FIRST_QUEUED_AT]: ctx.queuedAt ?? now() } });
    log.info('deferred: re-queued with a delay', { reason, delaySeconds });
    return true;
  };

  const giveBack = async (job: Job, reason: string, atLeastMs = 0): Promise<never> => {
    const { record, log, receiveCount } = job;
    // DingTalk may say how long to wait (a per-minute limit, an IP ban): never sooner than that.
    const delay = Math.min(retry.capSeconds, Math.max(backoffSeconds(receiveCount, retry, deps.random), Math.ceil(atLeastMs / 1000)));
    if (record.eventSource === BACKLOG_SOURCE) {
      // From a backlog: no receipt to delay; a fresh copy comes back after the backoff (failed
      // attempts are counted on the message's record). No copy sent: it stays in the backlog.
      if (!(await requeue(job, delay * 1000, reason))) throw new Error(`no notify queue to retry on: ${reason}`);
      throw new RetryLaterError(reason, delay);
    }
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
    const outcomes = outcomesFor(job.ctx, msg.tenantId, msg.id);
    let result: DeliveryResult;
    try {
      result = await attempt();
    } catch (e) {
      log.error('delivery attempt failed', { error: e as Error });
      const reason = `unexpected error: ${(e as Error).message}`;
      // A copy from a backlog starts a new receive count: its failures are counted on its record.
      const failed = record.eventSource === BACKLOG_SOURCE ? await outcomes.retrying(reason).catch(() => receiveCount) : receiveCount;
      if (Math.max(receiveCount, failed) >= retry.maxReceiveCount) {
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
        await settle('done', result.reason);
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
      case 'retry': {
        // Failed attempts are counted on the message's record too: a deferred copy starts a new SQS
        // receive count, and must not retry (and possibly re-send) without end.
        const failed = result.untracked ? receiveCount : await outcomes.retrying(result.reason ?? 'retryable failure').catch(() => receiveCount);
        const attempts = Math.max(receiveCount, failed);
        if (attempts >= retry.maxReceiveCount) {
          const reason = `gave up after ${attempts} attempts: ${result.reason}`;
          await toDeadLetter(record, reason, ids, receiveCount);
          await settle('deadLettered', reason);
          log.error('dead-lettered: retries exhausted', { reason, counts: result.counts });
          return { ...result, verdict: 'deadLetter', reason };
        }
        return giveBack(job, result.reason ?? 'retryable failure', result.deferMs);
      }
    }
  };

  const processRecord = async (record: SQSRecord, deadline?: number, opts: Shared = { deadline }): Promise<DeliveryResult> => {
    const admitted = await admit(record, opts);
    if ('result' in admitted) return admitted.result;
    const { ctx, msg } = admitted.job;
    return conclude(admitted.job, () => handlers[msg.kind](ctx, msg as never));
  };

  /**
   * Admits the records of one coalescing group and delivers them together. Never rejects: each
   * record's outcome (admission error, early result, or its job and attempt) comes back in order.
   */
  const deliverGroup = async (members: ReadonlyArray<{ record: SQSRecord; parsed: ParseResult & { ok: true } }>, opts: Shared): Promise<Planned[]> => {
    const admissions = await Promise.allSettled(members.map(({ record, parsed }) => admit(record, opts, parsed)));
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

    prepare(records: readonly SQSRecord[], prepareOpts: PrepareOptions = {}) {
      const opts: Shared = {
        ...prepareOpts,
        records: prepareOpts.lane ? new LaneRecords(deps.table) : undefined,
        slots: prepareOpts.lane ? new Slots(prepareOpts.concurrency ?? deps.concurrency ?? 4) : undefined,
      };
      const planned = new Map<string, Promise<Planned>>();
      if (handlers.notify === deliverNotify) {
        const candidates = records.flatMap((record) => {
          const parsed = parseNotifyMessage(record.body);
          return parsed.ok && parsed.message.kind === 'notify' ? [{ record, parsed, key: coalesceKey(parsed.message, render(parsed.message.message)) }] : [];
        });
        for (const members of groupBy(candidates, (c) => c.key)) {
          const delivered = deliverGroup(members, opts).catch((e: unknown) => members.map((): Planned => ({ error: e })));
          members.forEach((m, i) => planned.set(recordKey(m.record), delivered.then((all) => all[i])));
        }
      }
      return async (record: SQSRecord): Promise<DeliveryResult> => {
        const mine = planned.get(recordKey(record));
        if (!mine) return processRecord(record, opts.deadline, opts);
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

/** What the records of one prepared batch share: its options, and under a lane its records and call slots. */
type Shared = PrepareOptions & { records?: LaneRecords; slots?: Slots };

/** A record admitted for delivery, with what its delivery needs. */
interface Job {
  record: SQSRecord;
  msg: NotifyQueueMessage;
  ctx: DeliveryContext;
  log: Logger;
  receiveCount: number;
}

/** A job to deliver, or the record's result without a delivery (invalid, deferred by the pre-check). */
type Admission = { job: Job } | { result: DeliveryResult };

/** A record of a coalescing group, after the group's delivery: to conclude, already settled, or failed before delivery. */
type Planned = { job: Job; attempt: PromiseSettledResult<DeliveryResult> } | { result: DeliveryResult } | { error: unknown };

/** Identifies a record within a batch (the record handler may be given a copy). */
const recordKey = (record: SQSRecord): string => `${record.messageId}\n${record.receiptHandle}`;
