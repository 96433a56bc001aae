import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { NotifyRequest } from '../contracts/notifyMessage';
import { AppSession, resolveMobile } from '../dingtalk/appSession';
import { NO_SUCH_MOBILE } from '../dingtalk/client';
import { contentHash } from '../delivery/contentHash';
import { decide, Outcomes, recipientKey, type Channel, type RecipientOutcome, type RecipientStatus } from '../delivery/outcomes';
import type { DeliveryContext } from '../delivery/types';
import { describe, failureFields, statusOfFailure, verdictOf, type DeliveryResult } from '../delivery/verdict';
import { dedupe } from '../util/lists';
import { maskMobile } from '../util/mask';
import { render, type RenderedMessage } from './render';

/** One delivery record to write: the message attempt holding the claim, the recipient, its outcome. */
export type Row = readonly [NotifyAttempt, string, Parameters<Outcomes['record']>[3]];

/**
 * One message's attempt at `notify`: its delivery records, the recipients it claimed, and the
 * statuses its verdict is made of. Calls may be shared with other messages (coalescing), records
 * and verdicts never are.
 */
export class NotifyAttempt {
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
export async function openNotify(ctx: DeliveryContext, msg: NotifyRequest): Promise<NotifyAttempt | DeliveryResult> {
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
