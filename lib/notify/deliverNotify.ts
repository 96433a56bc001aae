import type { NotifyRequest } from '../contracts/notifyMessage';
import type { DingTalkResult } from '../dingtalk/errors';
import { BATCH_SEND_MAX_USERS } from '../dingtalk/client';
import type { Channel } from '../delivery/rule';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { TENANT_METRICS } from '../contracts/deployment';
import { NOT_STARTED, outOfTime, type DeliveryContext, type KindHandler } from '../delivery/types';
import { describe, failureFields, type DeliveryResult } from '../delivery/verdict';
import { coolAppCodeOf } from '../store/groups';
import { runPool } from '../util/pool';
import { groupBy } from '../util/lists';
import { coalesceKey, coalesceRecipients, type SharedRecipient } from './coalesce';
import { claimAll, NotifyAttempt, openNotify, releaseAll, type Row } from './notifyAttempt';
import { planCards, sendCard } from '../cards/deliverCards';

/** A `notify` message to deliver, with the context (logger) of its own record. */
export interface NotifyDelivery {
  ctx: DeliveryContext;
  msg: NotifyRequest;
}

/**
 * Delivers `notify` messages together: each message resolves its mobiles and selects its recipients
 * on its own, then the messages whose DingTalk message is the same ({@link coalesceKey}) share
 * their batchSend calls: the union of their users, 20 distinct users per call, claimed just before it, each
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
  // The batch's calls share its slots (a lane: its app's QPS), however many coalescing groups it has.
  const slots = attempts[0]?.ctx.slots;
  const forAll = (involved: readonly NotifyAttempt[], call: () => Promise<void>) => async () => {
    try {
      await (slots ? slots.run(call) : call());
    } catch (e) {
      for (const a of involved) a.fail(e);
    }
  };
  const tasks: Array<() => Promise<void>> = [];
  // Card pages (lib/cards/deliverCards.ts): one card per user and group, never a shared batchSend.
  const plans = await Promise.all(attempts.map((a) => planCards(a).catch((e: unknown) => (a.fail(e), null))));
  attempts.forEach((a, i) => {
    const plan = plans[i];
    if (!plan) return;
    for (const u of a.users) tasks.push(forAll([a], () => sendCard(a, plan, 'user', u, { claimedCall, recordAll })));
    for (const cid of a.groups) tasks.push(forAll([a], () => sendCard(a, plan, 'group', cid, { claimedCall, recordAll })));
  });
  const plain = attempts.filter((_, i) => plans[i] === undefined);
  for (const same of groupBy(plain, (a) => coalesceKey(a.msg, a.rendered))) {
    coalesceRecipients(same.map((a) => [a, a.users] as const), BATCH_SEND_MAX_USERS).forEach((shared, i) => {
      const holders = [...new Set(shared.flatMap((s) => s.holders))];
      tasks.push(forAll(holders, () => sendDm(shared, i)));
    });
  }
  for (const a of plain) for (const cid of a.groups) tasks.push(forAll([a], () => sendGroup(a, cid)));
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

/**
 * One DingTalk call for `pairs` (attempt, recipient): not started when the invocation is out of
 * time (the recipients wait for the retry, unclaimed); else the recipients are claimed just before
 * it and the call made for those claimed. If the call throws before DingTalk answered, every claim
 * is given back. Undefined when nothing was called.
 */
async function claimedCall<T>(
  channel: Channel,
  pairs: ReadonlyArray<readonly [NotifyAttempt, string]>,
  call: (claims: ReadonlyArray<readonly [NotifyAttempt, string]>) => Promise<DingTalkResult<T>>,
): Promise<{ claims: ReadonlyArray<readonly [NotifyAttempt, string]>; r: DingTalkResult<T> } | undefined> {
  if (outOfTime(pairs[0][0].ctx)) {
    for (const [a, to] of pairs) a.note(channel, to, 'retry', NOT_STARTED);
    return undefined;
  }
  const claims = await claimAll(channel, pairs);
  if (!claims.length) return undefined;
  try {
    return { claims, r: await call(claims) };
  } catch (e) {
    await releaseAll(channel, claims, (e as Error).message);
    throw e;
  }
}

/** Writes outcomes (each only while its attempt still holds the claim) and notes them for the verdicts. */
async function recordAll(channel: Channel, rows: readonly Row[], detailOf: (fields: Row[2]) => string | undefined = (f) => f.code, retryAfterMs?: number): Promise<void> {
  countLatency(rows);
  const lost = new Map<NotifyAttempt, number>();
  await Promise.all(
    rows.map(async ([a, to, fields]) => {
      if (!(await a.outcomes.record(channel, to, a.attemptId, fields))) lost.set(a, (lost.get(a) ?? 0) + 1);
    }),
  );
  for (const [a, count] of lost) a.log.error('claim lost before its outcome was written', { channel, count });
  const duplicates = new Map<NotifyAttempt, number>();
  for (const [a, to, fields] of rows) {
    a.note(channel, to, fields.status, detailOf(fields), retryAfterMs);
    if (fields.status === 'sent' && a.maybeDelivered(channel, to)) duplicates.set(a, (duplicates.get(a) ?? 0) + 1);
  }
  for (const [a, count] of duplicates) {
    a.log.warn('sent again after an ambiguous answer: possible duplicate', { channel, count });
    a.ctx.metrics?.addMetric('PossibleDuplicates', MetricUnit.Count, count);
  }
}

/**
 * `DeliveryLatency`, per tenant: from each message's arrival on the notify queue to DingTalk's
 * answer to this call (now: outcomes are written after it), once per message the call delivered to.
 */
function countLatency(rows: readonly Row[]): void {
  for (const a of new Set(rows.filter(([, , f]) => f.status === 'sent').map(([a]) => a))) {
    const ms = a.ctx.queuedAt === undefined ? -1 : a.ctx.now() - a.ctx.queuedAt;
    if (ms >= 0) a.ctx.tenantMetrics?.add(a.msg.tenantId, TENANT_METRICS.deliveryLatency, ms);
  }
}

/** One batchSend for up to 20 distinct users, claimed by one or more messages with the same content. */
async function sendDm(shared: ReadonlyArray<SharedRecipient<NotifyAttempt>>, index: number): Promise<void> {
  const lead = shared[0].holders[0];
  let userIds: string[] = [];
  const called = await claimedCall('user', shared.flatMap((s) => s.holders.map((a) => [a, s.to] as const)), (claimed) => {
    userIds = [...new Set(claimed.map(([, u]) => u))];
    return lead.session.batchSend({ userIds, msgKey: lead.rendered.msgKey, msgParam: lead.rendered.msgParam });
  });
  if (!called) return;
  const { claims, r } = called;
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
  const called = await claimedCall('group', [[a, openConversationId]], async () => {
    const coolAppCode = await coolAppCodeOf(ctx.table, msg.tenantId, openConversationId);
    return session.groupSend({ openConversationId, msgKey: rendered.msgKey, msgParam: rendered.msgParam, ...(coolAppCode ? { coolAppCode } : {}) });
  });
  if (!called) return;
  const { r } = called;
  if (r.kind !== 'ok') {
    await recordAll('group', [[a, openConversationId, failureFields(r)]], () => describe(r), r.retryAfterMs);
    a.log.warn('groupSend failed', { openConversationId, kind: r.kind, code: r.code, requestId: r.requestId });
    return;
  }
  await recordAll('group', [[a, openConversationId, { status: 'sent', requestId: r.requestId, processQueryKey: r.data.processQueryKey }]], () => undefined);
  a.log.info('groupSend sent', { openConversationId, requestId: r.requestId });
}
