/**
 * A loopback Flashduty Open API: acknowledge, close (resolve), snooze and comment on incidents, read
 * an incident or members, as docs/flashduty-api.md gives them. It checks every request the way that
 * page says Flashduty does (the `app_key` of a registered account, its scope, the account's rate
 * limit, content type, field types and limits, unknown incident ids, progress), records every
 * accepted write as an action for tests, and can inject faults. Rules live in ./rules.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  apply, checkContentType, checkProgress, DEFAULT_RATE_LIMITS, FD_ERRORS, FD_ROUTES, FdRejection, incidentData, incidentIds,
  optionalBoolean, optionalString, parseBody, personIds, requiredString, settle, snoozeMinutes,
  type Body, type FdApi, type FdErrorCode, type FdWriteApi, type Progress, type SimIncident, type WriteArgs,
} from './rules';

export type { Progress, SimIncident } from './rules';

/** An APP Key of an account (§0): `read` is a custom scope without Incidents Manage (writes get 403). */
export interface FdAppKey { accountId: number; appKey: string; scope?: 'all' | 'read'; creatorId?: number }
export interface FdMember { personId: number; name: string; email?: string; phone?: string }
export interface FdIncidentSeed { incidentId: string; title?: string; severity?: string; progress?: Progress; responderIds?: number[] }
/** An accepted write (§3–§6), as tests assert it. */
export interface FdAction {
  at: number; api: FdWriteApi; accountId: number; incidentIds: string[];
  minutes?: number; resolution?: string; rootCause?: string; comment?: string; muteReply?: boolean;
  /** Applied, but the caller never got the answer (an injected apply-then fault). */
  answerLost?: boolean;
}
export interface FdCall {
  at: number; api: FdApi | 'unknown'; method: string; path: string; accountId?: number;
  /** 0 while unanswered (and forever for a 'timeout' fault). */
  status: number;
  /** `error.code` of a refusal; absent on success. */
  code?: string;
  body: unknown; response: unknown; fault?: FdFaultKind;
}
/**
 * Injected faults (§1, §2, §10). Refused before anything changes: `5xx` (500 InternalError),
 * `timeout` (no answer), `rateLimit` (429 RequestTooFrequently), `reset` (connection dropped).
 * Applied, then the answer is lost: `applyThen5xx`, `applyThenTimeout`.
 */
export type FdFaultKind = '5xx' | 'timeout' | 'rateLimit' | 'reset' | 'applyThen5xx' | 'applyThenTimeout';
export interface FdFault { api?: FdApi; kind: FdFaultKind; count: number }
const AFTER_APPLY: ReadonlySet<FdFaultKind> = new Set(['applyThen5xx', 'applyThenTimeout']);

export interface FlashdutySimulatorOptions {
  port?: number;
  /** Epoch ms (default the wall clock): rate limits and incident times use it. */
  now?: () => number;
  /** Per-account limits (§2), default 50/s and 1,000/min. */
  rateLimits?: { perSecond: number; perMinute: number };
  /** Base of the incidents' `detail_url` (§7). */
  consoleUrl?: string;
}
export interface FlashdutySimulator {
  url: string;
  addAccount(key: FdAppKey): void;
  addMember(accountId: number, member: FdMember): void;
  addIncident(accountId: number, incident: FdIncidentSeed): void;
  /** The incident as it is now (a copy), or undefined. */
  incident(accountId: number, incidentId: string): SimIncident | undefined;
  inject(fault: FdFault): void;
  calls: FdCall[];
  actions(): FdAction[];
  reset(): void;
  close(): Promise<void>;
}

const TIMEOUT_HOLD_MS = 30_000;
interface Account { accountId: number; members: Map<number, FdMember>; incidents: Map<string, SimIncident>; hits: number[] }
interface Reply { status: number; body: Body; code?: string }

const requestId = (): string => randomUUID().replace(/-/g, '');
const ok = (data: unknown): Reply => ({ status: 200, body: { request_id: requestId(), data } });
/** §0, §1: the error envelope. */
const fail = (code: FdErrorCode, message: string): Reply => ({ status: FD_ERRORS[code], code, body: { request_id: requestId(), error: { code, message } } });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

class Simulator implements FlashdutySimulator {
  url = '';
  readonly calls: FdCall[] = [];
  readonly server = createServer((req, res) => { this.onRequest(req, res).catch(() => res.destroy()); });
  private readonly now: () => number;
  private readonly limits: { perSecond: number; perMinute: number };
  private readonly consoleUrl: string;
  private readonly keys = new Map<string, FdAppKey>();
  private readonly accounts = new Map<number, Account>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private faults: FdFault[] = [];
  private recorded: FdAction[] = [];

  constructor(opts: FlashdutySimulatorOptions) {
    this.now = opts.now ?? (() => Date.now());
    this.limits = opts.rateLimits ?? DEFAULT_RATE_LIMITS;
    this.consoleUrl = opts.consoleUrl ?? 'https://app.flashcat.cloud';
  }

  // ---- setup and inspection ------------------------------------------------------------------

  addAccount(key: FdAppKey): void {
    this.keys.set(key.appKey, { scope: 'all', creatorId: 0, ...key });
    this.account(key.accountId);
  }

  addMember(accountId: number, member: FdMember): void {
    this.account(accountId).members.set(member.personId, { ...member });
  }

  addIncident(accountId: number, i: FdIncidentSeed): void {
    const at = Math.floor(this.now() / 1000);
    const progress = i.progress ?? 'Triggered';
    // §7: ack_time / close_time are 0 only while not yet acknowledged / closed.
    this.account(accountId).incidents.set(i.incidentId, {
      incidentId: i.incidentId, title: i.title ?? 'Incident', severity: i.severity ?? 'Critical', progress,
      ackTime: progress === 'Triggered' ? 0 : at, closeTime: progress === 'Closed' ? at : 0, closerId: 0, snoozedBefore: 0, resolution: '', rootCause: '',
      responders: (i.responderIds ?? []).map((personId) => ({ personId, assignedAt: at, acknowledgedAt: 0 })), comments: [],
    });
  }

  incident(accountId: number, incidentId: string): SimIncident | undefined {
    const inc = this.accounts.get(accountId)?.incidents.get(incidentId);
    if (!inc) return undefined;
    settle(inc, Math.floor(this.now() / 1000));
    return structuredClone(inc);
  }

  inject(fault: FdFault): void {
    if (fault.count > 0) this.faults.push({ ...fault });
  }

  actions(): FdAction[] {
    return this.recorded.map((a) => ({ ...a, incidentIds: [...a.incidentIds] }));
  }

  reset(): void {
    this.calls.length = 0;
    this.faults = [];
    this.recorded = [];
    for (const a of this.accounts.values()) a.hits = [];
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- request pipeline (§10: the order of the checks) -----------------------------------------

  private account(accountId: number): Account {
    let a = this.accounts.get(accountId);
    if (!a) {
      a = { accountId, members: new Map(), incidents: new Map(), hits: [] };
      this.accounts.set(accountId, a);
    }
    return a;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const at = this.now();
    const url = new URL(req.url ?? '/', 'http://simulator');
    const route = Object.prototype.hasOwnProperty.call(FD_ROUTES, url.pathname) ? FD_ROUTES[url.pathname] : undefined;
    let logged: unknown;
    try { logged = raw ? JSON.parse(raw) : undefined; } catch { logged = raw; }
    const call: FdCall = { at, api: route?.api ?? 'unknown', method: req.method ?? '', path: url.pathname, status: 0, body: logged, response: undefined };
    this.calls.push(call);
    const answer = (r: Reply): void => this.send(res, call, r);

    if (!route) return answer(fail('RouteNotFound', `no such route: ${req.method} ${url.pathname}`)); // §1
    if (req.method !== 'POST') return answer(fail('MethodNotAllowed', `${req.method} is not allowed, use POST`)); // §0, §1
    const fault = this.takeFault(route.api);
    if (fault) call.fault = fault;
    if (fault === 'timeout') return this.hold(res);
    if (fault === 'reset') return void res.socket?.destroy();
    if (fault === '5xx') return answer(fail('InternalError', 'internal error')); // §1
    if (fault === 'rateLimit') return answer(fail('RequestTooFrequently', 'request too frequently')); // §2

    const key = this.keys.get(url.searchParams.get('app_key') ?? '');
    if (!key) return answer(fail('Unauthorized', 'app_key is missing or invalid')); // §0, §1
    call.accountId = key.accountId;
    const account = this.account(key.accountId);
    if (!this.admit(account, at)) return answer(fail('RequestTooFrequently', 'request too frequently')); // §2
    if (route.write && key.scope === 'read') return answer(fail('AccessDenied', 'the APP Key has no Incidents Manage permission')); // §0, §3–§6

    const before = this.recorded.length;
    let reply: Reply;
    try {
      checkContentType(req.headers['content-type']); // §0
      reply = this.handle(route.api, parseBody(raw), account, key, at);
    } catch (e) {
      if (!(e instanceof FdRejection)) throw e;
      reply = fail(e.code, e.message);
    }
    if (fault && AFTER_APPLY.has(fault) && reply.status === 200) {
      for (const a of this.recorded.slice(before)) a.answerLost = true;
      call.status = reply.status;
      call.response = reply.body;
      if (fault === 'applyThenTimeout') return this.hold(res);
      return answer(fail('InternalError', 'internal error'));
    }
    answer(reply);
  }

  /** §2: strict sliding windows per account; a refused request is not counted. */
  private admit(account: Account, at: number): boolean {
    account.hits = account.hits.filter((t) => t > at - 60_000);
    const lastSecond = account.hits.filter((t) => t > at - 1000).length;
    if (lastSecond >= this.limits.perSecond || account.hits.length >= this.limits.perMinute) return false;
    account.hits.push(at);
    return true;
  }

  private takeFault(api: FdApi): FdFaultKind | undefined {
    const f = this.faults.find((x) => x.api === undefined || x.api === api);
    if (!f) return undefined;
    if (--f.count === 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f.kind;
  }

  /** 'timeout': say nothing, then drop the connection after 30 s (or on close()). */
  private hold(res: ServerResponse): void {
    const t = setTimeout(() => { this.timers.delete(t); res.socket?.destroy(); }, TIMEOUT_HOLD_MS);
    this.timers.add(t);
  }

  private send(res: ServerResponse, call: FdCall, r: Reply): void {
    call.status = r.status;
    call.code = r.code;
    call.response = r.body;
    if (res.destroyed || res.writableEnded) return;
    const text = JSON.stringify(r.body);
    res.writeHead(r.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'flashcat-request-id': String(r.body.request_id), // §0
    });
    res.end(text);
  }

  // ---- APIs ------------------------------------------------------------------------------------

  private handle(api: FdApi, body: Body, account: Account, key: FdAppKey, at: number): Reply {
    const nowSec = Math.floor(at / 1000);
    switch (api) {
      case 'info': { // §7
        const inc = this.known(account, [requiredString(body, 'incident_id')], nowSec)[0];
        return ok(incidentData(inc, account.accountId, this.consoleUrl));
      }
      case 'personInfos': { // §8: unknown ids are left out (UNVERIFIED)
        const ids = personIds(body);
        const items = ids.flatMap((id) => {
          const m = account.members.get(id);
          return m ? [{ person_id: m.personId, person_name: m.name, email: m.email ?? '', phone: m.phone ?? '', status: 'enabled', account_id: account.accountId, as: 'member' }] : [];
        });
        return ok({ items });
      }
      default:
        return this.write(api, body, account, key, at);
    }
  }

  /** §3–§6, §9: validate every field and every incident first; change nothing unless all pass. */
  private write(api: FdWriteApi, body: Body, account: Account, key: FdAppKey, at: number): Reply {
    const nowSec = Math.floor(at / 1000);
    const ids = incidentIds(body);
    const args: WriteArgs = {};
    let muteReply: boolean | undefined;
    if (api === 'snooze') args.minutes = snoozeMinutes(body); // §5
    if (api === 'resolve') { // §4
      args.resolution = optionalString(body, 'resolution');
      args.rootCause = optionalString(body, 'root_cause');
    }
    if (api === 'comment') { // §6
      args.comment = requiredString(body, 'comment');
      muteReply = optionalBoolean(body, 'mute_reply');
    }
    const incidents = this.known(account, ids, nowSec);
    for (const inc of incidents) checkProgress(api, inc); // §9
    for (const inc of incidents) apply(api, inc, args, key.creatorId ?? 0, nowSec);
    const action: FdAction = { at, api, accountId: account.accountId, incidentIds: ids };
    if (args.minutes !== undefined) action.minutes = args.minutes;
    if (args.resolution !== undefined) action.resolution = args.resolution;
    if (args.rootCause !== undefined) action.rootCause = args.rootCause;
    if (args.comment !== undefined) action.comment = args.comment;
    if (muteReply !== undefined) action.muteReply = muteReply;
    this.recorded.push(action);
    return ok({});
  }

  /** §9: every id must be an incident of this account (NOT FOUND in the docs: refused as a parameter error). */
  private known(account: Account, ids: string[], nowSec: number): SimIncident[] {
    const unknown = ids.filter((id) => !account.incidents.has(id));
    if (unknown.length) throw new FdRejection('InvalidParameter', `unknown incident_ids: ${unknown.join(',')}`);
    return ids.map((id) => {
      const inc = account.incidents.get(id) as SimIncident;
      settle(inc, nowSec); // §5: a snooze that ran out
      return inc;
    });
  }
}

/** Starts the simulator on 127.0.0.1 (port 0 = any free port). */
export async function startFlashdutySimulator(opts: FlashdutySimulatorOptions = {}): Promise<FlashdutySimulator> {
  const sim = new Simulator(opts);
  await new Promise<void>((resolve, reject) => {
    sim.server.once('error', reject);
    sim.server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  sim.url = `http://127.0.0.1:${(sim.server.address() as AddressInfo).port}`;
  return sim;
}
