import { messageKey, recipientItemKey } from '../contracts/tableKeys';
import { batchGetAll, batchWriteAll, ttlAfter, type Table } from '../store/table';
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
 * delivery rule under a lane"), written in batches with BatchWriteItem: a message's first `begin`
 * is a BatchGetItem (is there a record?) and a put written at once; a claim is a put written within
 * {@link CLAIM_LINGER_MS} (its call waits for it); outcomes and final states within `lingerMs`.
 * A batch leaves at 25 items or at the earliest of its items' times. Each write resolves once it
 * is in DynamoDB.
 *
 * The rule is the same as with one request per record, with one difference: claims are puts, not
 * conditional writes. Under a lane one holder at a time calls DingTalk for the app, and it read the
 * message's records before deciding whom to claim, so there is no other attempt to race.
 *
 * @example
 * const records = new LaneRecords(table);
 * const o = records.outcomes('acme', 'n-1', Date.now);
 * await o.begin({ kind: 'notify', hash });
 */
export class LaneRecords {
  private readonly buffer = new Map<string, { item: Item; waiters: Array<{ resolve(): void; reject(e: unknown): void }> }>();
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
   * Puts an item with a batch leaving within `withinMs` (default `lingerMs`); resolves once written.
   * A later put of the same key replaces it.
   */
  put(item: Item, withinMs = this.lingerMs): Promise<void> {
    const key = `${item.pk}\n${item.sk}`;
    return new Promise((resolve, reject) => {
      const queued = this.buffer.get(key);
      this.buffer.set(key, { item, waiters: [...(queued?.waiters ?? []), { resolve, reject }] });
      if (this.buffer.size >= 25) return void this.flush();
      const at = Date.now() + withinMs;
      if (at < this.flushAt) {
        clearTimeout(this.timer);
        this.flushAt = at;
        this.timer = setTimeout(() => void this.flush(), withinMs);
      }
    });
  }

  /** Writes what is buffered now. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushAt = Infinity;
    const batch = [...this.buffer.values()];
    this.buffer.clear();
    if (!batch.length) return;
    try {
      await batchWriteAll(this.table, batch.map((b) => ({ PutRequest: { Item: b.item } })));
      for (const b of batch) for (const w of b.waiters) w.resolve();
    } catch (e) {
      for (const b of batch) for (const w of b.waiters) w.reject(e);
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
      const fresh = begins.filter((b) => !known.has(b.item.pk));
      const written = Promise.all(fresh.map((b) => this.put(b.item)));
      await this.flush();
      await written;
      for (const b of fresh) this.fresh.set(b.item.pk, b.item);
      for (const b of begins) b.resolve(!known.has(b.item.pk));
    } catch (e) {
      for (const b of begins) b.reject(e);
    }
  }
}

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

  async begin(m: { kind: string; hash: string; severity?: string }): Promise<{ conflict: boolean; attempts: number }> {
    const at = new Date(this.now()).toISOString();
    const item = { ...messageKey(this.tenantId, this.id), type: 'notify', tenantId: this.tenantId, id: this.id, kind: m.kind, hash: m.hash, firstSeenAt: at, updatedAt: at, state: 'processing', severity: m.severity, attempts: 1, expiresAt: this.expiresAt };
    if (await this.records.beginFresh(item)) {
      this.attempts = 1;
      return { conflict: false, attempts: 1 };
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
   * Claims a recipient with a put (the lane excludes other attempts; the recipient was selected from
   * the records read at the start): 'maybeDelivered' when an earlier attempt's claim was left
   * behind or its answer was ambiguous, so this send may duplicate a delivery.
   */
  async claim(channel: Channel, to: string, attemptId: string): Promise<Claim> {
    const k = recipientKey(channel, to);
    const rec = this.known.get(k);
    const maybe = rec?.status === 'pending' || rec?.possibleDuplicate === true;
    if (maybe) this.maybe.add(k);
    const now = this.now();
    await this.records.put(
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
      CLAIM_LINGER_MS,
    );
    return maybe ? 'maybeDelivered' : 'claimed';
  }

  async record(channel: Channel, to: string, attemptId: string | undefined, fields: Parameters<Outcomes['record']>[3]): Promise<boolean> {
    const k = recipientKey(channel, to);
    const duplicate = fields.possibleDuplicate === true || this.maybe.has(k) || this.known.get(k)?.possibleDuplicate === true;
    await this.records.put({
      ...recipientItemKey(this.tenantId, this.id, channel, to),
      type: 'recipient',
      channel,
      to,
      ...fields,
      ...(attemptId ? { attemptId } : {}),
      ...(duplicate ? { possibleDuplicate: true } : {}),
      updatedAt: new Date(this.now()).toISOString(),
      expiresAt: this.expiresAt,
    });
    return true;
  }

  async finish(state: MessageState, reason?: string): Promise<void> {
    const fresh = this.records.fresh.get(messageKey(this.tenantId, this.id).pk);
    if (!fresh) return this.fallback.finish(state, reason);
    const { reason: _old, ...rest } = fresh;
    await this.records.put({ ...rest, state, updatedAt: new Date(this.now()).toISOString(), ...(reason ? { reason: reason.slice(0, 2000) } : {}) });
  }

  async retrying(reason: string): Promise<number> {
    // The record changes in place from now on (its retry count): no more whole-item puts.
    this.records.fresh.delete(messageKey(this.tenantId, this.id).pk);
    return this.fallback.retrying(reason);
  }
}
