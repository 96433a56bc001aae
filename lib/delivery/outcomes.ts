import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { messageKey, recipientItemKey, type ItemKey } from '../contracts/tableKeys';
import { tryConditional, ttlAfter, type Table } from '../store/table';
import { CLAIMABLE, CLAIM_LEASE_MS, OUTCOME_TTL_SECONDS, recipientKey, type Channel, type MessageRecord, type MessageState, type Outcome, type RecipientOutcome } from './rule';

/**
 * What a claim got: the recipient (`maybeDelivered` when an earlier call's answer was ambiguous or
 * its attempt died, so this send may duplicate a delivery), or nothing (`false`: another attempt
 * holds it, or it is final).
 */
export type Claim = 'claimed' | 'maybeDelivered' | false;

/** What an attempt reads and writes of a message's delivery records: {@link Outcomes}, or LaneOutcomes under a lane. */
export interface OutcomeStore {
  readonly tenantId: string;
  readonly id: string;
  /** `firstSeenAt`: epoch ms the bridge first began this message id (kept across redrives and unparks). */
  begin(m: { kind: string; hash: string; severity?: string }): Promise<{ conflict: boolean; attempts: number; firstSeenAt?: number }>;
  snapshot(begun?: { attempts: number }): Promise<Map<string, RecipientOutcome>>;
  claim(channel: Channel, to: string, attemptId: string): Promise<Claim>;
  record(channel: Channel, to: string, attemptId: string | undefined, fields: Omit<RecipientOutcome, 'channel' | 'to' | 'updatedAt' | 'attemptId' | 'claimedAt'>): Promise<boolean>;
  finish(state: MessageState, reason?: string): Promise<void>;
  retrying(reason: string): Promise<number>;
}

/**
 * Per-message, per-recipient delivery records: the idempotency claims and the outcomes read by the
 * CLI and tests. One partition per message, `NOTIFY#<tenantId>#<id>`:
 * - sk `MESSAGE`: kind, content hash, state, reason, attempts;
 * - sk `TO#user#<userId>`, `TO#group#<openConversationId>`, `TO#mobile#<mobile>`: one recipient.
 * Everything expires after {@link OUTCOME_TTL_SECONDS}.
 *
 * The rule (docs/DESIGN.md, "The delivery rule"): a recipient is claimed (`pending`, conditional
 * write) just before its DingTalk call and its outcome written after. A recipient DingTalk answered
 * for (`sent`, `invalidUser`, ...) is final and never sent again. A `pending` claim younger than
 * {@link CLAIM_LEASE_MS} belongs to an attempt still running: the message is deferred until the
 * lease ends. An older one was left by an attempt that died mid-call: DingTalk may or may not have
 * delivered, so it is claimed again, sent again and marked `possibleDuplicate` (for a page, a
 * duplicate beats a loss). An ambiguous failure (timeout, 5xx, reset) is recorded `retry` with
 * `possibleDuplicate` for the same reason; the mark stays on the record once set.
 */

/** `SET #n_a = :v_a, ...` for the defined values, every name aliased (reserved words). */
function setOf(fields: Record<string, unknown>, ifNotExists: readonly string[] = []) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const clauses: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    names[`#n_${k}`] = k;
    values[`:v_${k}`] = v;
    clauses.push(ifNotExists.includes(k) ? `#n_${k} = if_not_exists(#n_${k}, :v_${k})` : `#n_${k} = :v_${k}`);
  }
  return { set: `SET ${clauses.join(', ')}`, names, values };
}

function toOutcome(item: Record<string, unknown>): RecipientOutcome {
  const { pk: _pk, sk: _sk, type: _t, expiresAt: _e, ...rest } = item;
  return rest as unknown as RecipientOutcome;
}

/**
 * Reads everything recorded for a message id (the CLI's `notify status`, the tests).
 *
 * @example
 * const { message, recipients } = await readOutcome(table, 'acme', 'incident-42-page-1');
 */
export async function readOutcome(table: Table, tenantId: string, id: string): Promise<Outcome> {
  const out: Outcome = { recipients: [] };
  const state = messageKey(tenantId, id);
  let start: Record<string, unknown> | undefined;
  do {
    const r = await table.doc.send(
      new QueryCommand({
        TableName: table.name,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': state.pk },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of r.Items ?? []) {
      if (item.sk === state.sk) {
        const { pk: _pk, sk: _sk, type: _t, expiresAt: _e, ...rest } = item;
        out.message = rest as MessageRecord;
      } else out.recipients.push(toOutcome(item));
    }
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

/**
 * The delivery records of one message, for one attempt.
 *
 * @example
 * const o = new Outcomes(table, tenantId, id, Date.now);
 * if (await o.claim('user', 'u1', attemptId)) { send(); await o.record('user', 'u1', attemptId, { status: 'sent' }); }
 */
export class Outcomes implements OutcomeStore {
  constructor(
    private readonly table: Table,
    readonly tenantId: string,
    readonly id: string,
    private readonly now: () => number,
  ) {}

  /** The message state item's key. */
  private get stateKey(): ItemKey {
    return messageKey(this.tenantId, this.id);
  }

  /** A recipient item's key. */
  private keyOf(channel: Channel, to: string): ItemKey {
    return recipientItemKey(this.tenantId, this.id, channel, to);
  }

  private get expiresAt(): number {
    return ttlAfter(this.now(), OUTCOME_TTL_SECONDS);
  }

  /**
   * Marks the start of an attempt. The first attempt stores the content hash; a later one with a
   * different hash is a re-used id (`conflict`: nothing is written, nothing must be sent for it, and
   * the original message's record stays as it was).
   */
  async begin(m: { kind: string; hash: string; severity?: string }): Promise<{ conflict: boolean; attempts: number; firstSeenAt?: number }> {
    const nowIso = new Date(this.now()).toISOString();
    const u = setOf(
      { type: 'notify', tenantId: this.tenantId, id: this.id, kind: m.kind, hash: m.hash, firstSeenAt: nowIso, updatedAt: nowIso, state: 'processing', severity: m.severity, expiresAt: this.expiresAt },
      ['firstSeenAt'],
    );
    const write = this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: this.stateKey,
        UpdateExpression: `${u.set} ADD #n_attempts :one`,
        ConditionExpression: 'attribute_not_exists(#n_hash) OR #n_hash = :v_hash',
        ExpressionAttributeNames: { ...u.names, '#n_attempts': 'attempts' },
        ExpressionAttributeValues: { ...u.values, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (!(await tryConditional(write))) return { conflict: true, attempts: 0 };
    const attrs = (await write).Attributes;
    const firstSeenAt = Date.parse(String(attrs?.firstSeenAt ?? nowIso));
    return { conflict: false, attempts: Number(attrs?.attempts ?? 1), ...(Number.isFinite(firstSeenAt) ? { firstSeenAt } : {}) };
  }

  /** The message's state at the end of an attempt. */
  async finish(state: MessageState, reason?: string): Promise<void> {
    const u = setOf({ state, updatedAt: new Date(this.now()).toISOString(), reason: reason?.slice(0, 2000) });
    await this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: this.stateKey,
        UpdateExpression: reason ? u.set : `${u.set} REMOVE #n_reason`,
        ExpressionAttributeNames: reason ? u.names : { ...u.names, '#n_reason': 'reason' },
        ExpressionAttributeValues: u.values,
      }),
    );
  }

  /**
   * Marks the message `retrying` after a failed attempt and counts it: the number of failed attempts
   * so far, whatever copy of the message they ran on (a deferred copy starts a new SQS receive count).
   */
  async retrying(reason: string): Promise<number> {
    const r = await this.table.doc.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: this.stateKey,
        UpdateExpression: 'SET #s = :s, #r = :r, #u = :u ADD #n :one',
        ExpressionAttributeNames: { '#s': 'state', '#r': 'reason', '#u': 'updatedAt', '#n': 'retries' },
        ExpressionAttributeValues: { ':s': 'retrying', ':r': reason.slice(0, 2000), ':u': new Date(this.now()).toISOString(), ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(r.Attributes?.retries ?? 1);
  }

  /**
   * Every recipient record of the message, by {@link recipientKey}. After the first `begin` of an id
   * there can be none (every other attempt begins later), so that read is skipped: pass `begin`'s answer.
   */
  async snapshot(begun?: { attempts: number }): Promise<Map<string, RecipientOutcome>> {
    if (begun?.attempts === 1) return new Map();
    const { recipients } = await readOutcome(this.table, this.tenantId, this.id);
    return new Map(recipients.map((r) => [recipientKey(r.channel, r.to), r]));
  }

  /**
   * Claims a recipient for `attemptId`: false when another attempt holds it (within its lease) or
   * it is final. A claim whose lease ended (its attempt died mid-call) is taken over and the record
   * marked `possibleDuplicate`.
   */
  async claim(channel: Channel, to: string, attemptId: string): Promise<Claim> {
    const now = this.now();
    const u = setOf({ type: 'recipient', channel, to, status: 'pending', attemptId, claimedAt: now, updatedAt: new Date(now).toISOString(), expiresAt: this.expiresAt });
    const claimable = CLAIMABLE.map((_, i) => `:c${i}`).join(', ');
    const names = { ...u.names, '#n_status': 'status', '#n_claimedAt': 'claimedAt', '#n_dup': 'possibleDuplicate' };
    const values = { ...u.values, ...Object.fromEntries(CLAIMABLE.map((st, i) => [`:c${i}`, st])) };
    // A write of ours that the SDK retried after DynamoDB applied it already holds the claim.
    const first = this.update(channel, to, u.set, `attribute_not_exists(pk) OR #n_status IN (${claimable}) OR #n_attemptId = :v_attemptId`, u.names, values);
    if (await tryConditional(first)) return (await first).Attributes?.possibleDuplicate === true ? 'maybeDelivered' : 'claimed';
    // The attempt holding it died: take it over, and mark that DingTalk may already have delivered it.
    const takeover = this.update(channel, to, `${u.set}, #n_dup = :dup`, '#n_status = :pending AND #n_claimedAt < :stale', names, { ...u.values, ':pending': 'pending', ':stale': now - CLAIM_LEASE_MS, ':dup': true });
    return (await tryConditional(takeover)) ? 'maybeDelivered' : false;
  }

  private update(channel: Channel, to: string, expr: string, cond: string, names: Record<string, string>, values: Record<string, unknown>) {
    return this.table.doc.send(
      new UpdateCommand({ TableName: this.table.name, Key: this.keyOf(channel, to), UpdateExpression: expr, ConditionExpression: cond, ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: 'ALL_OLD' }),
    );
  }

  /**
   * Writes the outcome of a claimed recipient (only while `attemptId` still holds it), or, with
   * no attemptId, a recipient that needs no claim (a mobile's resolution).
   */
  async record(channel: Channel, to: string, attemptId: string | undefined, fields: Omit<RecipientOutcome, 'channel' | 'to' | 'updatedAt' | 'attemptId' | 'claimedAt'>): Promise<boolean> {
    if (!attemptId) {
      await this.table.doc.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { ...this.keyOf(channel, to), type: 'recipient', channel, to, ...fields, updatedAt: new Date(this.now()).toISOString(), expiresAt: this.expiresAt },
        }),
      );
      return true;
    }
    return this.write(channel, to, fields, { expr: '#n_attemptId = :owner', values: { ':owner': attemptId } });
  }

  /** One recipient's record (tests, diagnostics). */
  async get(channel: Channel, to: string): Promise<RecipientOutcome | undefined> {
    const r = await this.table.doc.send(new GetCommand({ TableName: this.table.name, Key: this.keyOf(channel, to), ConsistentRead: true }));
    return r.Item ? toOutcome(r.Item) : undefined;
  }

  private async write(
    channel: Channel,
    to: string,
    fields: Partial<RecipientOutcome>,
    cond: { expr: string; values: Record<string, unknown> },
  ): Promise<boolean> {
    const u = setOf({ ...fields, updatedAt: new Date(this.now()).toISOString(), expiresAt: this.expiresAt });
    const names: Record<string, string> = { ...u.names, '#n_attemptId': 'attemptId' };
    // A retried recipient must not keep the previous attempt's error.
    const removes: string[] = [];
    for (const k of ['code', 'message', 'requestId'] as const) {
      if (fields[k] === undefined) {
        names[`#r_${k}`] = k;
        removes.push(`#r_${k}`);
      }
    }
    if (cond.expr.includes('#n_status')) names['#n_status'] = 'status';
    return tryConditional(
      this.table.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: this.keyOf(channel, to),
          UpdateExpression: `${u.set}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: cond.expr,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ...u.values, ...cond.values },
        }),
      ),
    );
  }
}
