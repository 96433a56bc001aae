import { beginMessage } from '../delivery/begin';
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { NotifyRequest } from '../contracts/notifyMessage';
import { AppSession, resolveMobile } from '../dingtalk/appSession';
import { NO_SUCH_MOBILE_CODES } from '../dingtalk/client';
import type { Claim, OutcomeStore } from '../delivery/outcomes';
import { CLAIM_LEASE_MS, decide, leaseLeftMs, recipientKey, type Channel, type RecipientOutcome, type RecipientStatus } from '../delivery/rule';
import { NOT_STARTED, outOfTime, type DeliveryContext } from '../delivery/types';
import { describe, failureFields, statusOfFailure, verdictOf, type DeliveryResult } from '../delivery/verdict';
import { dedupe } from '../util/lists';
import { maskMobile } from '../util/mask';
import { resolveMembers } from './members';
import { render, type RenderedMessage } from './render';

/** One delivery record to write: the message attempt holding the claim, the recipient, its outcome. */
export type Row = readonly [NotifyAttempt, string, Parameters<OutcomeStore['record']>[3]];

/**
 * One message's attempt at `notify`: its delivery records, the recipients it claimed, and the
 * statuses its verdict is made of. Calls may be shared with other messages (coalescing), records
 * and verdicts never are.
 */
export class NotifyAttempt {
  readonly attemptId = randomUUID();
  /**
   * Users (from userIds and resolved mobiles) and groups this attempt must call DingTalk for: not
   * final, not held by a live attempt. Each is claimed just before its call ({@link claimAll}).
   */
  users: string[] = [];
  groups: string[] = [];
  private readonly final = new Map<string, [string, RecipientStatus | 'inFlight', string?]>();
  private deferMs = 0;
  private failure?: { error: unknown };

  constructor(
    readonly ctx: DeliveryContext,
    readonly msg: NotifyRequest,
    readonly outcomes: OutcomeStore,
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

  /** Recipients whose claim showed DingTalk may already have their message (a send now may duplicate it). */
  private readonly maybeDuplicated = new Set<string>();

  markMaybeDelivered(channel: Channel, to: string): void {
    this.maybeDuplicated.add(recipientKey(channel, to));
  }

  maybeDelivered(channel: Channel, to: string): boolean {
    return this.maybeDuplicated.has(recipientKey(channel, to));
  }

  /**
   * The `targets` this attempt must send to (in order), by the records it read: what is final is
   * noted and left out; what a live attempt holds is noted `inFlight` (the message is deferred until
   * that claim's lease ends); the claim of an attempt that died is taken over at call time.
   */
  select(channel: Channel, targets: readonly string[]): string[] {
    const now = this.ctx.now();
    return targets.filter((to) => {
      const rec = this.known(channel, to);
      const d = decide(rec, now);
      if (d === 'skip') this.note(channel, to, rec!.status);
      else if (d === 'inFlight') this.note(channel, to, 'inFlight', 'claimed by another attempt', leaseLeftMs(rec!, now) + 1000);
      return d === 'claim' || d === 'orphaned';
    });
  }

  /** Why the page went as it did when nothing else says (e.g. a static action card instead of a card): the message state's reason. */
  private remark?: string;

  explain(remark: string): void {
    this.remark ??= remark;
  }

  /** The verdict of this attempt, or the error of a call that threw. */
  result(): PromiseSettledResult<DeliveryResult> {
    if (this.failure) return { status: 'rejected', reason: this.failure.error };
    const v = verdictOf(this.final.values(), this.deferMs);
    return { status: 'fulfilled', value: v.reason || !this.remark ? v : { ...v, reason: this.remark } };
  }
}

/**
 * Claims `pairs` (attempt, recipient) for one call, just before it: the pairs it holds now. A
 * recipient another attempt took meanwhile is noted `inFlight` (deferred, never taken for done).
 * When a claim write fails, the claims already taken are given back and the error thrown: nothing
 * is left `pending` without a call, and the message comes back through SQS.
 *
 * @example
 * const mine = await claimAll('user', shared.flatMap((s) => s.holders.map((a) => [a, s.to] as const)));
 */
export async function claimAll(channel: Channel, pairs: ReadonlyArray<readonly [NotifyAttempt, string]>): Promise<Array<readonly [NotifyAttempt, string]>> {
  const settled = await Promise.allSettled(pairs.map(([a, to]) => a.outcomes.claim(channel, to, a.attemptId)));
  const claimOf = (i: number) => (settled[i].status === 'fulfilled' ? (settled[i] as PromiseFulfilledResult<Claim>).value : false);
  const mine = pairs.filter((_, i) => claimOf(i) !== false);
  const error = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (error) {
    await releaseAll(channel, mine, (error.reason as Error).message);
    throw error.reason;
  }
  pairs.forEach(([a, to], i) => {
    if (claimOf(i) === 'maybeDelivered') a.markMaybeDelivered(channel, to);
    else if (claimOf(i) === false) a.note(channel, to, 'inFlight', 'claimed by another attempt', CLAIM_LEASE_MS);
  });
  return mine;
}

/**
 * Gives claims back (`retry`) after a call that was never made, or that threw before DingTalk
 * answered. A release that fails is logged: its claim then ends its lease and is taken over.
 */
export async function releaseAll(channel: Channel, claims: ReadonlyArray<readonly [NotifyAttempt, string]>, reason: string): Promise<void> {
  const released = await Promise.allSettled(claims.map(([a, to]) => a.outcomes.record(channel, to, a.attemptId, { status: 'retry', code: 'internal', message: reason })));
  released.forEach((r, i) => {
    if (r.status === 'rejected') claims[i][0].log.error('could not give a claim back: it is taken over when its lease ends', { channel, error: r.reason as Error });
  });
}

/**
 * Starts a message's attempt: tenant, content check (a re-used id is refused), rendering, mobiles
 * and members (lib/notify/members.ts) resolved to users, then the users and groups to send to selected (claimed later, call by call).
 * A result instead when nothing may be sent.
 */
export async function openNotify(ctx: DeliveryContext, msg: NotifyRequest): Promise<NotifyAttempt | DeliveryResult> {
  const start = await beginMessage(ctx, msg);
  if ('verdict' in start) return start;
  const { tenant, outcomes, begun } = start;

  const rendered = render(msg.message, { locale: tenant.locale });
  if (rendered.truncated) ctx.log.warn('message body truncated to fit DingTalk', { bytes: rendered.bytes, originalChars: msg.message.markdown.length });

  const session = new AppSession({ client: ctx.client, gate: ctx.gate, tokens: ctx.tokens, outOfTime: () => outOfTime(ctx) }, {
    tenantId: tenant.tenantId,
    corpId: tenant.corpId,
    clientId: tenant.clientId,
    clientSecret: tenant.clientSecret,
  }, msg.severity);
  const attempt = new NotifyAttempt(ctx, msg, outcomes, session, rendered, await outcomes.snapshot(begun));
  const fromMobiles = await resolveMobiles(attempt, tenant.corpId);
  const fromMembers = await resolveMembers(ctx.table, attempt);
  attempt.users = attempt.select('user', dedupe([...(msg.to.userIds ?? []), ...fromMobiles, ...fromMembers]));
  attempt.groups = attempt.select('group', dedupe(msg.to.openConversationIds));
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
    if (outOfTime(ctx)) {
      attempt.note('mobile', mobile, 'retry', NOT_STARTED);
      continue;
    }
    const r = await resolveMobile(ctx, attempt.session, corpId, mobile);
    if (r.kind === 'ok') {
      fromMobiles.push(r.data.userId);
      await outcomes.record('mobile', mobile, undefined, { status: 'resolved', userId: r.data.userId });
      attempt.note('mobile', mobile, 'resolved');
    } else if (NO_SUCH_MOBILE_CODES.has(r.code)) {
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
