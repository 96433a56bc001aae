import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSRecord } from 'aws-lambda';
import { parseNotifyMessage } from '../contracts/notifyMessage';
import { EDITIONS, limitsOf } from '../contracts/tenant';
import type { TenantRecord } from '../store/secrets';
import type { DingTalkApi } from '../dingtalk/errors';
import type { DeliveryResult } from '../delivery/verdict';
import { logger as rootLogger } from '../log';
import { RetryLaterError } from '../sender/backoff';
import type { Sender } from '../sender/createSender';
import type { CallPacer } from '../shaping/shapingGate';
import { DEFAULT_SKEW_MS } from '../shaping/windowPacer';
import { AppPacers, PACED_APIS } from './pacers';
import type { Table } from '../store/table';
import { groupBy } from '../util/lists';
import { systemClock, type Clock } from '../util/time';
import { addedAt, addToBacklog, backlogKeyOf, backlogPage, backlogRecord, fromRecord, removeFromBacklog, type BacklogItem } from './backlog';
import { requestDrain, WATCH_SECONDS } from './sweep';
import { entryOf, fanOut, messageKeyOf, QUEUED, type Entry } from './entry';
import { acquireLease, readLane, releaseLease, renewLease, type Lease } from './lease';

/**
 * A held lease is renewed this often, so a call may always start for the next 25 s less maxCallMs
 * and the window: more than any call waits in its pacer.
 */
const RENEW_EVERY_MS = 5000;

/** Most backlog messages read (and coalesced) at once: 200 identical pages go out in 10 calls. */
export const PAGE_SIZE = 200;
const SETTLE_MS = 150;
const SETTLE_MAX_MS = 1000;

export interface LanesDeps {
  table: Table;
  sqs: SQSClient;
  /** The sender core: delivers records (from SQS or from a backlog) and settles them. */
  sender: Sender;
  getTenant(tenantId: string): Promise<TenantRecord | undefined>;
  /** The drain queue (DRAIN_QUEUE_URL): where "drain this app's backlog" requests go. */
  drainQueueUrl?: string;
  clock?: Clock;
  /** Called when a lane is given back: unused quota reserved for its calls goes back (ShapingGate.releaseUnused). */
  onGiveBack?: (clientId: string) => Promise<void>;
  /** Longer than any DingTalk call may take (the client timeout and a margin): see WindowPacer. */
  maxCallMs?: number;
  /** Largest clock difference between two instances handing a lane on (see WindowPacer.inherit). */
  skewMs?: number;
  logger?: Logger;
}

/** A lane this process holds now. */
interface Held {
  lease: Lease;
  qps: number;
  /** No call starts after this (the invocation's deadline). */
  deadline: number;
  /** Renews the lease every RENEW_EVERY_MS while held. */
  keepAlive: NodeJS.Timeout;
  /** The lease was lost (a renewal refused: this instance stalled past it and another took the lane): nothing more is sent. */
  lost?: boolean;
}

/**
 * Lanes (docs/DESIGN.md, "Shaping"): each app's robot calls are sent by one holder at a time, paced
 * locally. A notify batch is split by app: for an app whose lane is free, the sender takes the lane
 * and delivers at once (a quiet tenant's page goes straight through); for an app whose lane is held
 * (a tenant in a storm), the messages go to the app's backlog in DynamoDB and are acknowledged, so
 * the shared queue stays short. The holder drains the backlog at the app's exact pace until its
 * invocation ends, then hands on through a drain request. No message is stranded (docs/DESIGN.md, section 6).
 *
 * @example
 * const lanes = new Lanes({ table, sqs, sender, getTenant, drainQueueUrl }); // gate: pacerFor: lanes.pacerFor
 * export const handler = (event, context) => processPartialResponse(event, lanes.route(event.Records, { deadline }), processor, { context });
 */
export class Lanes {
  /** This process: a lane's bounds written by it are its own, not inherited. */
  private readonly instance = randomUUID();
  private readonly held = new Map<string, Held>();
  /** Per app and API, kept across invocations of a warm instance. */
  private readonly pacers: AppPacers;
  private readonly watched = new Map<string, number>();
  /** Apps whose lane another holder had a moment ago: their batches go to the backlog without asking first. */
  private readonly heldElsewhere = new Map<string, number>();
  private readonly clock: Clock;
  private readonly skewMs: number;
  private readonly log: Logger;

  constructor(private readonly deps: LanesDeps) {
    this.clock = deps.clock ?? systemClock;
    this.skewMs = deps.skewMs ?? DEFAULT_SKEW_MS;
    this.log = deps.logger ?? rootLogger;
    this.pacers = new AppPacers(deps.maxCallMs);
  }

  /** For ShapingGate's `pacerFor`: the pacer of a robot API of an app whose lane this process holds. */
  readonly pacerFor = (clientId: string, api: DingTalkApi): CallPacer | undefined => {
    const held = this.held.get(clientId);
    if (!held || !PACED_APIS.includes(api)) return undefined;
    const pacer = this.pacers.of(clientId, api, held.qps);
    return {
      // A call starts only while the lane is held, answered and out of the window before the lease
      // could pass on, and before the invocation's deadline.
      start: async () => (held.lost ? undefined : pacer.start(Math.min(held.lease.until - pacer.windowMs - pacer.maxCallMs - this.skewMs - 3, held.deadline))),
      finish: (call) => pacer.finish(call),
    };
  };

  /**
   * The sender's entry: starts delivering a notify batch, app by app, and returns the record
   * handler for Powertools' processPartialResponse. Records that are not valid or whose tenant is
   * unknown go straight to the sender (which dead-letters them with the reason).
   */
  route(records: readonly SQSRecord[], opts: { deadline?: number } = {}): (record: SQSRecord) => Promise<DeliveryResult> {
    const direct: SQSRecord[] = [];
    const results = new Map<string, Promise<DeliveryResult>>();
    const keyOf = (r: SQSRecord) => `${r.messageId}\n${r.receiptHandle}`;
    const failed = new Map<SQSRecord, unknown>();
    const byApp = (async () => {
      const known: Entry[] = [];
      for (const record of records) {
        const parsed = parseNotifyMessage(record.body);
        // A lookup that fails fails the record (SQS brings it back): never sent outside its lane.
        const tenant = parsed.ok ? await this.deps.getTenant(parsed.message.tenantId).catch((e: unknown) => void failed.set(record, e)) : undefined;
        if (failed.has(record)) continue;
        if (parsed.ok && tenant) known.push(entryOf(record, tenant, parsed.message));
        else direct.push(record);
      }
      return groupBy(known, (k) => k.tenant.clientId);
    })();
    const started = byApp.then((groups) => {
      for (const group of groups) {
        const done = this.sendOrBacklog(group, opts.deadline);
        group.forEach((g, i) => results.set(keyOf(g.record), handled(done.then((all) => all[i]))));
      }
      const handle = this.deps.sender.prepare(direct, opts);
      for (const r of direct) results.set(keyOf(r), handle(r));
      for (const [r, e] of failed) results.set(keyOf(r), handled(Promise.reject(e)));
    });
    return async (record) => {
      await started;
      const mine = results.get(keyOf(record));
      if (!mine) throw new Error(`record ${record.messageId} was not in the batch`);
      return mine;
    };
  }

  /** One app's messages of a batch: delivered now under its lane, or put in its backlog. */
  private async sendOrBacklog(group: readonly Entry[], deadline?: number): Promise<Array<Promise<DeliveryResult>>> {
    const { clientId } = group[0].tenant;
    const holder = `${this.instance}:${randomUUID()}`;
    const qps = Math.min(...group.map((g) => limitsOf(g.tenant).qps));
    const took = (this.heldElsewhere.get(clientId) ?? 0) < this.clock() && (await this.take(clientId, holder, qps, deadline));
    if (took && (fanOut(group) || this.pacers.busy(clientId, this.held.get(clientId)!.qps, this.clock()))) {
      // The lane is free between two holders of a storm: the drain streams it; a batch of 10 at a
      // time from here would stop and start. A fan-out (one content to several users, likely more
      // on the way in other batches) is coalesced across the backlog, 20 users a call.
      await this.backlog(clientId, group).finally(() => this.giveBack(clientId));
      return group.map(() => Promise.resolve(QUEUED));
    }
    if (took) {
      try {
        // A second copy of a message (SQS delivers at least once) waits in the backlog for the first to finish.
        const seen = new Set<string>();
        const first = group.filter((g) => !seen.has(messageKeyOf(g)) && seen.add(messageKeyOf(g)));
        const copies = group.filter((g) => !first.includes(g));
        if (copies.length) await this.backlog(clientId, copies);
        const handle = this.deps.sender.prepare(first.map((g) => g.record), { deadline, concurrency: qps, lane: true });
        const results = group.map((g) => (first.includes(g) ? handle(g.record) : Promise.resolve(QUEUED)));
        await Promise.allSettled(results);
        return results;
      } finally {
        await this.giveBack(clientId);
      }
    }
    await this.backlog(clientId, group);
    // Written, then the lane tried again: this sees the holder gone, or the holder sees these messages.
    if (await this.take(clientId, holder, qps)) await this.giveBack(clientId);
    else {
      this.heldElsewhere.set(clientId, this.clock() + 1000);
      await this.watch(clientId);
    }
    return group.map(() => Promise.resolve(QUEUED));
  }

  private backlog(clientId: string, group: readonly Entry[]): Promise<void> {
    return addToBacklog(this.deps.table, clientId, group.map((g) => ({ ...fromRecord(g.record, this.clock()), tenantId: g.tenant.tenantId, messageId: g.id, critical: g.critical })), this.clock());
  }

  /**
   * The drain function's entry: takes the app's lane and sends its backlog, a page at a time, until
   * it is empty or the invocation nears its `deadline` (then hands on with a drain request).
   * 'busy' when another holder has the lane (it will drain).
   */
  async drain(clientId: string, opts: { deadline: number; watch?: string }): Promise<{ sent: number; busy?: boolean }> {
    if (opts.watch) {
      const lane = await readLane(this.deps.table, clientId);
      const alive = lane.holder !== undefined && (lane.until ?? 0) >= this.clock();
      // The watched holder is still at work: look again later. Another live holder watches itself.
      if (alive && lane.holder === opts.watch) await this.requestDrain(clientId, WATCH_SECONDS, opts.watch);
      if (alive) return { sent: 0, busy: true };
    }
    const holder = `${this.instance}:${randomUUID()}`;
    // The app's limits are those of the tenant of its first backlogged message. A tenant deleted
    // since: the lowest edition's, and the sender dead-letters its messages with the reason.
    const [first] = await backlogPage(this.deps.table, clientId, 1);
    if (!first) return { sent: 0 };
    const tenant = await this.deps.getTenant(first.tenantId);
    const qps = tenant ? limitsOf(tenant).qps : EDITIONS.standard.qps;
    // Busy: the holder drains, and its own watch covers its death.
    if (!(await this.take(clientId, holder, qps, opts.deadline))) return { sent: 0, busy: true };
    // A dead-man's switch: should this invocation die holding the lane, the request takes it over.
    await this.requestDrain(clientId, WATCH_SECONDS, holder).catch((e: Error) => this.log.error('could not set the lane watch: the sweep covers it', { clientId, error: e }));
    let sent = 0;
    let handOnAfter: number | undefined;
    // Two pages in flight at most: the next is read and opened while the last calls of the one
    // before are made, so the pacer never waits for DynamoDB between pages.
    const inFlight = new Map<string, { settled: Promise<boolean>; messages: string[] }>();
    const settleEnd = this.clock() + SETTLE_MAX_MS;
    try {
      for (;;) {
        const left = opts.deadline - this.clock();
        if (left < 2000 || this.held.get(clientId)?.lost) {
          handOnAfter = 0;
          break;
        }
        // No more than can be sent before the deadline: what is read is claimed call by call.
        const room = Math.min(PAGE_SIZE, Math.floor((left / 1000) * qps * 0.8) - inFlight.size);
        // A message is in one page at a time: a second copy waits until the first is done.
        const busy = new Set([...inFlight.values()].flatMap((f) => f.messages));
        const page = room < 1 ? [] : (await backlogPage(this.deps.table, clientId, room + inFlight.size)).filter((p) => !inFlight.has(p.sk) && !busy.has(backlogKeyOf(p)) && busy.add(backlogKeyOf(p))).slice(0, room);
        if (!page.length && !inFlight.size) break;
        // A backlog still filling (a fan-out arriving batch by batch) is first read once it settles,
        // so its identical pages share calls: SETTLE_MS after its last write, at most SETTLE_MAX_MS.
        const settle = !sent && !inFlight.size && page.length < room ? Math.min(settleEnd, Math.max(...page.map(addedAt)) + SETTLE_MS) - this.clock() : 0;
        if (settle > 0) {
          await new Promise((r) => setTimeout(r, settle));
          continue;
        }
        if (page.length) {
          const settled = this.sendPage(clientId, page, qps, opts.deadline).then(
            (n) => ((sent += n), n === page.length),
            (e: Error) => (this.log.error('a backlog page failed: its messages stay in the backlog', { clientId, error: e }), false),
          );
          const entry = { settled, messages: page.map(backlogKeyOf) };
          for (const p of page) inFlight.set(p.sk, entry);
        }
        // With two pages in flight (or nothing new to read), wait for the older before reading again.
        const oldest = inFlight.values().next().value!;
        if (page.length && new Set(inFlight.values()).size < 2) continue;
        const allSettled = await oldest.settled;
        for (const [sk, e] of [...inFlight]) if (e === oldest) inFlight.delete(sk);
        if (!allSettled) {
          // Something could not be settled (SQS or DynamoDB failing): try again shortly, not in a loop.
          handOnAfter = 5;
          break;
        }
      }
    } finally {
      // Never give the lane back while a page is still sending.
      await Promise.allSettled([...inFlight.values()].map((e) => e.settled));
      await this.giveBack(clientId, handOnAfter);
    }
    return { sent };
  }

  /**
   * Delivers a page of the backlog and removes what was settled (sent, dead-lettered, parked, or
   * back on the notify queue with a delay): how many. A message that could not be settled stays.
   */
  private async sendPage(clientId: string, page: readonly BacklogItem[], qps: number, deadline: number): Promise<number> {
    const records = page.map(backlogRecord);
    const handle = this.deps.sender.prepare(records, { deadline, concurrency: qps, lane: true });
    const settled = await Promise.allSettled(records.map((r) => handle(r)));
    const over = page.filter((_, i) => settled[i].status === 'fulfilled' || (settled[i] as PromiseRejectedResult).reason instanceof RetryLaterError);
    await removeFromBacklog(this.deps.table, clientId, over.map((p) => p.sk));
    if (over.length < page.length) this.log.error('backlog messages could not be settled: the drain comes back later', { clientId, unsettled: page.length - over.length });
    return over.length;
  }

  /** Takes an app's lane for this invocation (and what the previous holder left). */
  private async take(clientId: string, holder: string, qps: number, deadline = Infinity): Promise<boolean> {
    if (this.held.has(clientId)) return false; // another invocation of this process holds it
    const lease = await acquireLease(this.deps.table, clientId, holder, this.clock());
    if (!lease) return false;
    if (this.held.has(clientId)) {
      await releaseLease(this.deps.table, lease, lease.recent, lease.recentFrom);
      return false;
    }
    const held: Held = {
      lease,
      qps,
      deadline,
      keepAlive: setInterval(() => {
        renewLease(this.deps.table, lease, this.clock()).then(
          (ok) => void (ok || ((held.lost = true), this.log.error('lane lease lost: this holder stops sending', { clientId }))),
          (e: Error) => this.log.warn('lane lease renewal failed: tried again shortly', { clientId, error: e }),
        );
      }, RENEW_EVERY_MS),
    };
    this.held.set(clientId, held);
    if (lease.recentFrom !== this.instance) {
      this.pacers.inherit(clientId, qps, lease.recent, this.skewMs);
    }
    return true;
  }

  /**
   * Gives an app's lane back with its last calls' bounds, then checks its backlog: messages
   * there get a drain request (after `handOnAfter` s when given: the holder stopped early).
   */
  private async giveBack(clientId: string, handOnAfter?: number): Promise<void> {
    const held = this.held.get(clientId);
    if (!held) return;
    this.held.delete(clientId);
    clearInterval(held.keepAlive);
    const recent = this.pacers.recent(clientId, held.qps);
    try {
      await this.deps.onGiveBack?.(clientId);
      await releaseLease(this.deps.table, held.lease, recent, this.instance);
      if (handOnAfter !== undefined || (await backlogPage(this.deps.table, clientId, 1)).length) await this.requestDrain(clientId, handOnAfter ?? 0);
    } catch (e) {
      // The lease runs out and the sweep finds the backlog.
      this.log.error('could not hand the lane on: the sweep picks its backlog up', { clientId, error: e as Error });
    }
  }

  /**
   * The lane is held elsewhere (a sender's short hold, whose death no watch covers): a drain request
   * for when its lease would have run out. At most one per app per 10 s from this process.
   */
  private async watch(clientId: string): Promise<void> {
    const now = this.clock();
    if ((this.watched.get(clientId) ?? 0) > now) return;
    this.watched.set(clientId, now + 10_000);
    await this.requestDrain(clientId, WATCH_SECONDS).catch((e: Error) => this.log.error('could not request a drain', { clientId, error: e }));
  }

  private requestDrain(clientId: string, delaySeconds = 0, watch?: string): Promise<void> {
    return requestDrain(this.deps.sqs, this.deps.drainQueueUrl, clientId, delaySeconds, watch);
  }
}

/** A promise whose rejection is awaited later (by the record's handler), not unhandled meanwhile. */
const handled = <T>(p: Promise<T>): Promise<T> => (p.catch(() => undefined), p);
