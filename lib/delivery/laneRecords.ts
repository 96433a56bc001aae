import { messageKey, recipientItemKey } from '../contracts/tableKeys';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, ttlAfter, type Table } from '../store/table';
import { Outcomes, type Claim, type OutcomeStore } from './outcomes';
import { OUTCOME_TTL_SECONDS, recipientKey, type Channel, type MessageState, type RecipientOutcome } from './rule';

type Item = Record<string, unknown> & { pk: string; sk: string };

/**
 * Longest a claim waits for its batch. Calls wait for their claims, so this delays a quiet tenant's
 * page a little; under a storm, the lane's calls are queued ahead by as much, and a batch carries
 * several claims with the outcomes of the calls before them.
 */
export const CLAIM_LINGER_MS = 100;

/**
 * The delivery records of the messages one lane holder delivers together (docs/DESIGN.md, "The
 * delivery rule under a lane"), written in batches: a message's first `begin`
 * is a BatchGetItem (is there a record?) and a put written at once; a claim is a put written within
 * {@link CLAIM_LINGER_MS} (its call waits for it); outcomes and final states within `lingerMs`.
 * A batch leaves at 50 puts or at the earliest of its puts' times. Each write resolves once it
 * is in DynamoDB.
 *
 * The rule is the same as with one request per record: every put is conditional (a claim on the
 * record being as this attempt read it, an outcome on the claim being this attempt's), written in
 * a TransactWriteItems; a refused condition fails that put only. One holder at a time calls
 * DingTalk for an app, so conditions fail only when a holder lost its lane.
 *
 * @example
 * const records = new LaneRecords(table);
 * const o = records.outcomes('acme', 'n-1', Date.now);
 * await o.begin({ kind: 'notify', hash });
 */
export class LaneRecords {
  private readonly buffer = new Map<string, Buffered>();
  private timer?: NodeJS.Timeout;
  private flushAt = Infinity;
  private begins: Array<{ item: Item; resolve(fresh: boolean): void; reject(e: unknown): void }> = [];
  /** Message records this batch created (their full item: a final state is a put of it). */
  readonly fresh = new Map<string, Item>();

  constructor(
    private readonly table: Table,
    private readonly lingerMs = 250,
  ) {}

  outcomes(tenantId: string, id: string, now: () => number): LaneOutcomes {
    return new LaneOutcomes(this, new Outcomes(this.table, tenantId, id, now), tenantId, id, now);
  }

  /**
   * Puts an item, on `condition`, with a batch leaving within `withinMs` (default `lingerMs`):
   * true once written, false when the condition failed (nothing written). A later put of the same
   * key replaces it in the buffer.
   */
  put(item: Item, condition?: Condition, withinMs = this.lingerMs): Promise<boolean> {
    const key = `${item.pk}\n${item.sk}`;
    return new Promise((resolve, reject) => {
      const queued = this.buffer.get(key);
      this.buffer.set(key, { item, condition, tries: 0, waiters: [...(queued?.waiters ?? []), { resolve, reject }] });
      this.schedule(withinMs);
    });
  }

  private schedule(withinMs: number): void {
    if (this.buffer.size >= MAX_BATCH) return void this.flush();
    const at = Date.now() + withinMs;
    if (at < this.flushAt) {
      clearTimeout(this.timer);
      this.flushAt = at;
      this.timer = setTimeout(() => void this.flush(), withinMs);
    }
  }

  /**
   * Writes what is buffered now, in one TransactWriteItems per 100 (each put with its condition:
   * a refused condition fails that put only; the others of a cancelled transaction go again).
   */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushAt = Infinity;
    const batch = [...this.buffer.values()];
    this.buffer.clear();
    for (let i = 0; i < batch.length; i += 100) await this.write(batch.slice(i, i + 100));
  }

  private async write(batch: Buffered[]): Promise<void> {
    const settle = (b: Buffered, written: boolean) => b.waiters.forEach((w) => w.resolve(written));
    try {
      await this.table.doc.send(
        new TransactWriteCommand({
          TransactItems: batch.map((b) => ({
            Put: {
              TableName: this.table.name,
              Item: b.item,
              ...(b.condition ? { ConditionExpression: b.condition.expr, ExpressionAttributeValues: b.condition.values, ExpressionAttributeNames: b.condition.names } : {}),
            },
          })),
        }),
      );
      batch.forEach((b) => settle(b, true));
    } catch (e) {
      const reasons = (e as { name?: string; CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons;
      if ((e as { name?: string }).name !== 'TransactionCanceledException' || !reasons) {
        batch.forEach((b) => b.waiters.forEach((w) => w.reject(e)));
        return;
      }
      batch.forEach((b, i) => {
        const code = reasons[i]?.Code ?? 'None';
        if (code === 'ConditionalCheckFailed') return settle(b, false);
        // Not refused itself (another put was, or a conflict): again, alone with the others left.
        if (++b.tries > 5) return b.waiters.forEach((w) => w.reject(e));
        const key = `${b.item.pk}\n${b.item.sk}`;
        if (!this.buffer.has(key)) this.buffer.set(key, b);
      });
      if (this.buffer.size) this.schedule(0);
    }
  }

  /**
   * Creates a message record when there is none yet (true, written before this resolves); false
   * when the id has one (an earlier attempt, or a re-used id: the caller begins it the usual way).
   * The records asked for in the same tick are looked up together.
   */
  beginFresh(item: Item): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.begins.push({ item, resolve, reject });
      if (this.begins.length === 1) setImmediate(() => void this.runBegins());
    });
  }

  private async runBegins(): Promise<void> {
    const begins = this.begins;
    this.begins = [];
    try {
      const known = new Set((await batchGetAll(this.table, begins.map((b) => b.item))).map((it) => `${it.pk}`));
      const written = begins.map((b) => (known.has(b.item.pk) ? Promise.resolve(false) : this.put(b.item, { expr: 'attribute_not_exists(pk)' }, 0)));
      await this.flush();
      for (const [i, b] of begins.entries()) {
        const fresh = await written[i];
        if (fresh) this.fresh.set(b.item.pk, b.item);
        b.resolve(fresh);
      }
    } catch (e) {
      for (const b of begins) b.reject(e);
    }
  }
}

/** A condition on a put: an expression and its values (and names). */
interface Condition {
  expr: string;
  values?: Record<string, unknown>;
  names?: Record<string, string>;
}

interface Buffered {
  item: Item;
  condition?: Condition;
  tries: number;
  waiters: Array<{ resolve(written: boolean): void; reject(e: unknown): void }>;
}

/** Puts per batch at most (a transaction takes 100). */
const MAX_BATCH = 50;

/** One message's records under a lane: see {@link LaneRecords}. Falls back to {@link Outcomes} for a message seen before. */
export class LaneOutcomes implements OutcomeStore {
  private attempts = 0;
  private known = new Map<string, RecipientOutcome>();
  private readonly maybe = new Set<string>();

  constructor(
    private readonly records: LaneRecords,
    private readonly fallback: Outcomes,
    readonly tenantId: string,
    readonly id: string,
    private readonly now: () => number,
  ) {}

  private get expiresAt(): number {
    return ttlAfter(this.now(), OUTCOME_TTL_SECONDS);
  }

  async begin(m: { kind: string; hash: string; severity?: string }): Promise<{ conflict: boolean; attempts: number; firstSeenAt?: number }> {
    const at = new Date(this.now()).toISOString();
    const item = { ...messageKey(this.tenantId, this.id), type: 'notify', tenantId: this.tenantId, id: this.id, kind: m.kind, hash: m.hash, firstSeenAt: at, updatedAt: at, state: 'processing', severity: m.severity, attempts: 1, expiresAt: this.expiresAt };
    if (await this.records.beginFresh(item)) {
      this.attempts = 1;
      return { conflict: false, attempts: 1, firstSeenAt: Date.parse(at) };
    }
    const begun = await this.fallback.begin(m);
    this.attempts = begun.attempts;
    return begun;
  }

  async snapshot(begun?: { attempts: number }): Promise<Map<string, RecipientOutcome>> {
    this.known = await this.fallback.snapshot(begun);
    return this.known;
  }

  /**
   * Claims a recipient with a put on the condition that its record is still what this attempt read
   * (none, or the same `updatedAt`): false when another attempt wrote it meanwhile (a holder that
   * lost its lane, say). 'maybeDelivered' when an earlier attempt's claim was left behind or its
   * answer was ambiguous, so this send may duplicate a delivery.
   */
  async claim(channel: Channel, to: string, attemptId: string): Promise<Claim> {
    const k = recipientKey(channel, to);
    const rec = this.known.get(k);
    const maybe = rec?.status === 'pending' || rec?.possibleDuplicate === true;
    const now = this.now();
    const asRead = rec ? { expr: '#u = :u', names: { '#u': 'updatedAt' }, values: { ':u': rec.updatedAt } } : { expr: 'attribute_not_exists(pk)' };
    const claimed = await this.records.put(
      {
        ...recipientItemKey(this.tenantId, this.id, channel, to),
        type: 'recipient',
        channel,
        to,
        status: 'pending',
        attemptId,
        claimedAt: now,
        ...(maybe ? { possibleDuplicate: true } : {}),
        updatedAt: new Date(now).toISOString(),
        expiresAt: this.expiresAt,
      },
      asRead,
      CLAIM_LINGER_MS,
    );
    if (!claimed) return false;
    if (maybe) this.maybe.add(k);
    return maybe ? 'maybeDelivered' : 'claimed';
  }

  async record(channel: Channel, to: string, attemptId: string | undefined, fields: Parameters<Outcomes['record']>[3]): Promise<boolean> {
    const k = recipientKey(channel, to);
    const duplicate = fields.possibleDuplicate === true || this.maybe.has(k) || this.known.get(k)?.possibleDuplicate === true;
    // Only while this attempt holds the claim (as with one request per record).
    const owned = attemptId ? { expr: 'attemptId = :a', values: { ':a': attemptId } } : undefined;
    return this.records.put({
      ...recipientItemKey(this.tenantId, this.id, channel, to),
      type: 'recipient',
      channel,
      to,
      ...fields,
      ...(attemptId ? { attemptId } : {}),
      ...(duplicate ? { possibleDuplicate: true } : {}),
      updatedAt: new Date(this.now()).toISOString(),
      expiresAt: this.expiresAt,
    }, owned);
  }

  async finish(state: MessageState, reason?: string): Promise<void> {
    const fresh = this.records.fresh.get(messageKey(this.tenantId, this.id).pk);
    if (!fresh) return this.fallback.finish(state, reason);
    const { reason: _old, ...rest } = fresh;
    // Unless another attempt began it meanwhile (then its own state stands).
    await this.records.put({ ...rest, state, updatedAt: new Date(this.now()).toISOString(), ...(reason ? { reason: reason.slice(0, 2000) } : {}) }, { expr: 'attempts = :one', values: { ':one': 1 } });
  }

  async retrying(reason: string): Promise<number> {
    // The record changes in place from now on (its retry count): no more whole-item puts.
    this.records.fresh.delete(messageKey(this.tenantId, this.id).pk);
    return this.fallback.retrying(reason);
  }
}
