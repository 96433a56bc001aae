/**
 * A loopback DingTalk: token, robot DM and group sends, user lookup by mobile and scene groups,
 * with DingTalk's field names, per-app per-API QPS (strict 1 s sliding window), per-organisation
 * monthly quota and injectable faults. One server answers both the new (api.dingtalk.com) and the
 * old (oapi.dingtalk.com) paths.
 *
 * Error codes DingTalk does not document for these cases are the simulator's own (see CODES).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QuotaBook, SlidingWindow } from './limits';

export interface SimApp { clientId: string; clientSecret: string; corpId: string; qps: number; monthlyQuota: number }
export interface SimCall {
  /** Arrival, epoch ms from `performance` (after the jitter delay). */
  at: number;
  api: string;
  clientId?: string;
  corpId?: string;
  /** 0 while unanswered (and forever for a 'timeout' fault). */
  status: number;
  /** New API `code`, old API `errcode` as a string, 'html' for the HTML page; absent on success. */
  code?: string;
  body: unknown;
  response: unknown;
  /** Rejected because it broke the QPS window (not set for an injected 'qps' fault). */
  overLimit: boolean;
  /** Counted against the monthly quota. */
  counted: boolean;
  /** Set when an injected fault answered this call. */
  fault?: Fault['kind'];
}
/**
 * An injected fault. Refused before processing (nothing delivered): `5xx`, `timeout` (no answer),
 * `qps`, `html`, `quota`, `invalidToken`, `reset` (connection dropped). Processed, then the answer
 * is lost (delivered, yet the caller cannot know): `hangThenDeliver` (no answer before the caller
 * gives up), `deliverThen5xx`, `deliverThenReset`. Throttling answers: `qps`, `qpm`, `sendTooFast`,
 * `byTokenTooFast` (docs/dingtalk-api.md §2, §3, §8).
 */
export type FaultKind = '5xx' | 'timeout' | 'qps' | 'qpm' | 'sendTooFast' | 'byTokenTooFast' | 'html' | 'quota' | 'invalidToken' | 'reset' | 'hangThenDeliver' | 'deliverThen5xx' | 'deliverThenReset';
export interface Fault { api?: string; kind: FaultKind; count: number }
/** Faults drawn at random for every call of the listed APIs (all but the token API when absent), by probability. */
export interface FaultRates { apis?: string[]; rates: Partial<Record<FaultKind, number>> }
const AFTER_DELIVERY: ReadonlySet<FaultKind> = new Set(['hangThenDeliver', 'deliverThen5xx', 'deliverThenReset']);
export interface SimulatorOptions {
  port?: number;
  /** Random delay [min, max] ms before a request "arrives" (network latency). */
  jitterMs?: [number, number];
  tokenTtlSeconds?: number;
  now?: () => number;
  /**
   * Where an app unknown to a token request is looked up before it is refused (the local stack reads
   * the tenant table: DingTalk knows an app as soon as it exists in the developer console).
   */
  lookupApp?: (clientId: string) => Promise<SimApp | undefined>;
}
export interface SimGroupCreated {
  openConversationId: string; chatId: string; title: string; templateId: string;
  ownerUserId: string; userIds: string[]; uuid: string;
}
export interface SimMessage {
  api: string; robotCode: string; to: string; msgKey: string; msgParam: any; coolAppCode?: string;
  /** Delivered, but the caller never got the answer (an injected after-delivery fault). */
  answerLost?: boolean;
}
export interface Simulator {
  url: string;
  oapiUrl: string;
  addApp(app: SimApp): void;
  addUser(corpId: string, user: { userId: string; mobile?: string }): void;
  addGroup(corpId: string, group: { openConversationId: string; robotCodes?: string[]; coolAppCode?: string; disbanded?: boolean }): void;
  addTemplate(corpId: string, tpl: { templateId: string; botId: string; installDelayMs?: number }): void;
  inject(fault: Fault): void;
  /** Faults at random, per call, until `setFaultRates(undefined)`. */
  setFaultRates(rates: FaultRates | undefined): void;
  expireTokens(): void;
  setQuotaUsed(corpId: string, used: number): void;
  calls: SimCall[];
  groupsCreated(): SimGroupCreated[];
  messages(): SimMessage[];
  overLimitCount(): number;
  /** Calls that arrived when the organisation's quota was already used up (0 for a correct client). */
  pastQuotaCount(): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * DingTalk's codes for the refusals the simulator makes, as docs/dingtalk-api.md gives them (the
 * section of each is in its comment). Every rule below cites the section it follows.
 */
export const CODES = {
  invalidParameter: 'invalidParameter', // §2, §3: field errors, suffixed: 'invalidParameter.userIds'
  parameterInvalid: 'parameter.invalid', // §5.1, §5.2: scene-group bad input (a comma-joined string where an array is due)
  tooLong: 'invalidParameter.msgParam.tooLong', // §3: msgParam over 15,000 bytes
  robotNotInGroup: 'invalidParameter.robotCode.notExsit', // §3: robot not (yet) in the group or org
  groupNotExist: 'invalid.openConversationId', // §3: unknown group
  groupDisbanded: 'group.disbanded', // §3
  memberNotFound: 'member.notFound', // §5.1: owner (or member) userId unknown
  templateNotFound: 'groupTemplate.notFound', // §5.1
  sceneGroupNotExist: 'invalidOpenConversationId', // §5.2 (ERR): unknown scene group on member/add
} as const;
export const MAX_BATCH_USERS = 20;
export const MAX_GROUP_MSG_PARAM_BYTES = 15_000;
/** Initial members (user_ids, owner not included) accepted by sceneGroup/create. */
export const MAX_SCENE_GROUP_INITIAL_MEMBERS = 40;
export const MAX_SCENE_GROUP_TITLE_CHARS = 30;
const TIMEOUT_HOLD_MS = 30_000;

/** Required msgParam keys per msgKey (all string-valued). */
const MSG_FIELDS: Record<string, string[]> = {
  sampleText: ['content'],
  sampleMarkdown: ['title', 'text'],
  sampleLink: ['text', 'title', 'picUrl', 'messageUrl'],
  sampleImageMsg: ['photoURL'],
  sampleActionCard: ['title', 'text', 'singleTitle', 'singleURL'],
  // sampleActionCard2..5: 2..5 vertical buttons; sampleActionCard6: two horizontal buttons.
  ...Object.fromEntries([2, 3, 4, 5].map((n) => [`sampleActionCard${n}`, ['title', 'text',
    ...Array.from({ length: n }, (_, i) => [`actionTitle${i + 1}`, `actionURL${i + 1}`]).flat()]])),
  sampleActionCard6: ['title', 'text', 'buttonTitle1', 'buttonUrl1', 'buttonTitle2', 'buttonUrl2'],
};

interface Reply { status: number; body: unknown; code?: string; html?: boolean }
class Rejection extends Error {
  constructor(readonly reply: Reply) { super(reply.code); }
}
type Body = Record<string, unknown>;
interface Template { templateId: string; botId: string; installDelayMs?: number }
interface Group {
  openConversationId: string; chatId: string; robotCodes?: string[]; coolAppCode?: string; disbanded: boolean;
  templateId?: string; createdAt: number; members: Set<string>;
}
interface Corp {
  quota: number;
  users: Map<string, { userId: string; mobile?: string }>;
  groups: Map<string, Group>;
  templates: Map<string, Template>;
  byUuid: Map<string, Group>;
}
interface Ctx { at: number; body: Body; app: SimApp; corp: Corp }
interface Route { api: string; old: boolean; counted: boolean }

const ROUTES: Record<string, Route> = {
  '/v1.0/oauth2/accessToken': { api: 'token', old: false, counted: false },
  '/v1.0/robot/oToMessages/batchSend': { api: 'batchSend', old: false, counted: true },
  '/v1.0/robot/groupMessages/send': { api: 'groupSend', old: false, counted: true },
  '/topapi/v2/user/getbymobile': { api: 'getbymobile', old: true, counted: false },
  '/v1.0/im/sceneGroup/create': { api: 'sceneGroupCreate', old: false, counted: true },
  '/v1.0/im/sceneGroup/member/add': { api: 'sceneGroupMemberAdd', old: false, counted: true },
};

const requestId = (): string => randomUUID().toUpperCase();
const ok = (body: unknown): Reply => ({ status: 200, body });
const fail = (status: number, code: string, message: string): Reply => ({ status, code, body: { code, message, requestid: requestId() } });
const oldOk = (result: unknown): Reply => ok({ errcode: 0, errmsg: 'ok', result, request_id: requestId() });
const oldFail = (errcode: number, errmsg: string): Reply => ({ status: 200, code: String(errcode), body: { errcode, errmsg, request_id: requestId() } });
const reject = (status: number, code: string, message: string): Rejection => new Rejection(fail(status, code, message));
const invalid = (field: string, message: string): Rejection => reject(400, `${CODES.invalidParameter}.${field}`, message);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** §5.1, §5.2: `user_ids` is an Array of String; the comma-joined string of the retired topapi routes is refused. */
function idList(v: unknown): string[] | undefined {
  if (Array.isArray(v) && v.every((s) => typeof s === 'string' && s)) return v as string[];
  return undefined;
}

/** §0, §8: the old API's gateway answers an auth or rate-limit refusal as errcode 88 with the real code in sub_code. */
const oldGateway = (subCode: string, subMsg: string): Reply => ({
  status: 200,
  code: `88/${subCode}`,
  body: { errcode: 88, errmsg: 'ding talk error[subcode=' + subCode + ',submsg=' + subMsg + ']', sub_code: subCode, sub_msg: subMsg, request_id: requestId() },
});

function errorFor(kind: '5xx' | 'qps' | 'html' | 'quota' | 'invalidToken' | 'sendTooFast' | 'byTokenTooFast' | 'qpm', old: boolean, seq: number): Reply {
  switch (kind) {
    case 'invalidToken': // §8: InvalidAuthentication (new), 40014 wrapped in errcode 88 (old)
      return old ? oldGateway('40014', '不合法的access_token') : fail(400, 'InvalidAuthentication', '不合法的access_token');
    case 'qps': // §8: QpsLimitForAppkeyAndApi (new, 403), 90018 wrapped in errcode 88 (old)
      return old ? oldGateway('90018', '当前企业调用该接口的QPS已达上限')
        : fail(403, 'Forbidden.AccessDenied.QpsLimitForAppkeyAndApi', '应用调用该接口的QPS已达上限');
    case 'qpm': // §8: the per-minute limit
      return fail(403, 'Forbidden.AccessDenied.QpmLimitForAppkeyAndApi', '应用调用该接口的QPM已达上限');
    case 'sendTooFast': // §2, §3: robot-send throttling, HTTP 400
      return fail(400, 'send.too.fast', '发送太快');
    case 'byTokenTooFast': // §2, §3
      return fail(400, 'send.byToken.tooFast', '发送太快');
    case 'quota': // §8: ApiCountLimitForOrg / 90020
      return old ? oldFail(90020, '企业当月调用量已达上限')
        : fail(403, 'Forbidden.AccessDenied.ApiCountLimitForOrg', '企业当月调用量已达上限');
    case '5xx': // §8: 500 system.error / 503
      return seq % 2 ? fail(503, 'ServiceUnavailable', 'service unavailable') : fail(500, 'system.error', 'system error');
    case 'html': // §0: the IP ban page
      return { status: 403, code: 'html', html: true, body: '<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>访问被拒绝</h1><p>您的IP访问过于频繁，已被临时封禁。</p></body></html>' };
  }
}

function parseMsg(msgKey: unknown, msgParam: unknown): { msgKey: string; param: Body } {
  const key = str(msgKey);
  const fields = key !== undefined && Object.prototype.hasOwnProperty.call(MSG_FIELDS, key) ? MSG_FIELDS[key] : undefined;
  if (!key || !fields) throw invalid('msgKey', `unsupported msgKey: ${String(msgKey)}`);
  if (typeof msgParam !== 'string') throw invalid('msgParam', 'msgParam must be a JSON string');
  let param: unknown;
  try { param = JSON.parse(msgParam); } catch { throw invalid('msgParam', 'msgParam is not valid JSON'); }
  if (!isObject(param)) throw invalid('msgParam', 'msgParam must encode a JSON object');
  const missing = fields.filter((f) => typeof param[f] !== 'string');
  if (missing.length) throw invalid('msgParam', `msgParam for ${key} lacks string field(s): ${missing.join(', ')}`);
  return { msgKey: key, param };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

class DingTalkSimulator implements Simulator {
  url = '';
  oapiUrl = '';
  readonly calls: SimCall[] = [];
  readonly server = createServer((req, res) => { this.onRequest(req, res).catch(() => res.destroy()); });
  private readonly now: () => number;
  private readonly ttl: number;
  private readonly jitter?: [number, number];
  private readonly apps = new Map<string, SimApp>();
  private readonly corps = new Map<string, Corp>();
  private readonly tokens = new Map<string, { clientId: string; expiresAt: number }>();
  private readonly tokenOfApp = new Map<string, string>();
  private readonly window = new SlidingWindow(1000);
  private readonly quota = new QuotaBook();
  private readonly timers = new Set<NodeJS.Timeout>();
  private faults: Fault[] = [];
  private rates?: FaultRates;
  private delivered: SimMessage[] = [];
  private created: SimGroupCreated[] = [];
  private overLimit = 0;
  private pastQuota = 0;
  private faultSeq = 0;

  private readonly lookupApp?: SimulatorOptions['lookupApp'];

  constructor(opts: SimulatorOptions) {
    this.lookupApp = opts.lookupApp;
    this.now = opts.now ?? (() => performance.timeOrigin + performance.now());
    this.ttl = opts.tokenTtlSeconds ?? 7200;
    this.jitter = opts.jitterMs;
  }

  // ---- setup ---------------------------------------------------------------------------------

  addApp(app: SimApp): void {
    this.apps.set(app.clientId, { ...app });
    this.corp(app.corpId).quota = app.monthlyQuota; // quota is per organisation: the last app added sets it
  }

  addUser(corpId: string, user: { userId: string; mobile?: string }): void {
    this.corp(corpId).users.set(user.userId, { ...user });
  }

  addGroup(corpId: string, g: { openConversationId: string; robotCodes?: string[]; coolAppCode?: string; disbanded?: boolean }): void {
    this.corp(corpId).groups.set(g.openConversationId, {
      openConversationId: g.openConversationId, chatId: `chat${randomBytes(16).toString('hex')}`,
      robotCodes: g.robotCodes, coolAppCode: g.coolAppCode, disbanded: g.disbanded ?? false,
      createdAt: this.now(), members: new Set(),
    });
  }

  addTemplate(corpId: string, tpl: Template): void {
    this.corp(corpId).templates.set(tpl.templateId, { ...tpl });
  }

  inject(fault: Fault): void {
    if (fault.count > 0) this.faults.push({ ...fault });
  }

  setFaultRates(rates: FaultRates | undefined): void {
    this.rates = rates;
  }

  expireTokens(): void {
    this.tokens.clear();
    this.tokenOfApp.clear();
  }

  setQuotaUsed(corpId: string, used: number): void {
    this.quota.set(corpId, this.now(), used);
  }

  // ---- inspection ----------------------------------------------------------------------------

  groupsCreated(): SimGroupCreated[] {
    return this.created.map((g) => ({ ...g, userIds: [...g.userIds] }));
  }

  messages(): SimMessage[] {
    return [...this.delivered];
  }

  overLimitCount(): number {
    return this.overLimit;
  }

  pastQuotaCount(): number {
    return this.pastQuota;
  }

  reset(): void {
    this.calls.length = 0;
    this.faults = [];
    this.rates = undefined;
    this.delivered = [];
    this.created = [];
    this.window.clear();
    this.quota.clear();
    this.overLimit = 0;
    this.pastQuota = 0;
    this.faultSeq = 0;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- request pipeline ----------------------------------------------------------------------

  private corp(corpId: string): Corp {
    let c = this.corps.get(corpId);
    if (!c) {
      c = { quota: 0, users: new Map(), groups: new Map(), templates: new Map(), byUuid: new Map() };
      this.corps.set(corpId, c);
    }
    return c;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.timers.delete(t); resolve(); }, ms);
      this.timers.add(t);
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (this.jitter) {
      const [lo, hi] = this.jitter;
      const ms = lo + Math.random() * Math.max(0, hi - lo);
      if (ms > 0) await this.sleep(ms);
    }
    const at = this.now();
    const url = new URL(req.url ?? '/', 'http://simulator');
    const route = req.method === 'POST' ? ROUTES[url.pathname] : undefined;
    let body: unknown;
    try { body = raw ? JSON.parse(raw) : {}; } catch { body = raw; }
    const call: SimCall = { at, api: route?.api ?? 'unknown', status: 0, body, response: undefined, overLimit: false, counted: false };
    this.calls.push(call);
    const answer = (r: Reply): void => this.send(res, call, r);
    if (!route) return answer(fail(404, 'NotFound', `no such API: ${req.method} ${url.pathname}`));

    const appKey = route.api === 'token' && isObject(body) ? str(body.appKey) ?? '' : '';
    if (appKey && !this.apps.has(appKey) && this.lookupApp) {
      const found = await this.lookupApp(appKey).catch(() => undefined);
      if (found) this.addApp(found);
    }
    const app = route.api === 'token'
      ? this.apps.get(appKey)
      : this.appOfToken(route.old ? url.searchParams.get('access_token') : req.headers['x-acs-dingtalk-access-token'], at);
    if (app) { call.clientId = app.clientId; call.corpId = app.corpId; }

    const fault = this.takeFault(route.api);
    if (fault) call.fault = fault;
    if (fault && !AFTER_DELIVERY.has(fault)) {
      if (fault === 'timeout') return this.hold(res);
      if (fault === 'reset') return void res.socket?.destroy();
      return answer(errorFor(fault as Parameters<typeof errorFor>[0], route.old, fault === '5xx' ? this.faultSeq++ : 0));
    }
    if (app && !this.window.tryAcquire(`${app.clientId}|${route.api}`, at, app.qps)) {
      call.overLimit = true;
      this.overLimit++;
      return answer(errorFor('qps', route.old, 0));
    }
    if (!isObject(body)) {
      return answer(route.old ? oldFail(40035, '不合法的参数') : fail(400, 'InvalidParameter', 'the body must be a JSON object'));
    }
    if (route.api === 'token') return answer(this.token(body, at));
    if (!app) return answer(errorFor('invalidToken', route.old, 0));

    const corp = this.corp(app.corpId);
    if (route.counted && this.quota.get(app.corpId, at) >= corp.quota) {
      this.pastQuota++;
      return answer(errorFor('quota', route.old, 0));
    }
    let reply: Reply;
    const deliveredBefore = this.delivered.length;
    try {
      reply = this.handle(route.api, { at, body, app, corp });
    } catch (e) {
      if (!(e instanceof Rejection)) throw e;
      reply = e.reply;
    }
    if (reply.status === 200 && route.counted) {
      this.quota.add(app.corpId, at);
      call.counted = true;
    }
    if (fault && reply.status === 200) {
      // Processed (and counted): only the answer is lost.
      for (const m of this.delivered.slice(deliveredBefore)) m.answerLost = true;
      call.status = reply.status;
      call.response = reply.body;
      if (fault === 'hangThenDeliver') return this.hold(res);
      if (fault === 'deliverThenReset') return void res.socket?.destroy();
      return answer(errorFor('5xx', route.old, this.faultSeq++));
    }
    answer(reply);
  }

  private appOfToken(token: unknown, at: number): SimApp | undefined {
    const info = typeof token === 'string' ? this.tokens.get(token) : undefined;
    return info && info.expiresAt > at ? this.apps.get(info.clientId) : undefined;
  }

  private takeFault(api: string): FaultKind | undefined {
    const f = this.faults.find((x) => x.count > 0 && (x.api === undefined || x.api === api));
    if (!f) return this.drawFault(api);
    if (--f.count === 0) this.faults.splice(this.faults.indexOf(f), 1);
    return f.kind;
  }

  private drawFault(api: string): FaultKind | undefined {
    const r = this.rates;
    if (!r || (r.apis ? !r.apis.includes(api) : api === 'token')) return undefined;
    let x = Math.random();
    for (const [kind, p] of Object.entries(r.rates) as Array<[FaultKind, number]>) {
      if (x < p) return kind;
      x -= p;
    }
    return undefined;
  }

  /** 'timeout' fault: say nothing, then drop the connection after 30 s (or on close()). */
  private hold(res: ServerResponse): void {
    const t = setTimeout(() => { this.timers.delete(t); res.socket?.destroy(); }, TIMEOUT_HOLD_MS);
    this.timers.add(t);
  }

  private send(res: ServerResponse, call: SimCall, r: Reply): void {
    call.status = r.status;
    call.code = r.code;
    call.response = r.body;
    if (res.destroyed || res.writableEnded) return;
    const text = r.html ? String(r.body) : JSON.stringify(r.body);
    res.writeHead(r.status, {
      'content-type': r.html ? 'text/html; charset=utf-8' : 'application/json;charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-acs-request-id': requestId(),
    });
    res.end(text);
  }

  // ---- APIs ----------------------------------------------------------------------------------

  private token(body: Body, at: number): Reply {
    const app = this.apps.get(str(body.appKey) ?? '');
    if (!app || str(body.appSecret) !== app.clientSecret) {
      return fail(400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
    }
    // Within its lifetime DingTalk hands back the same token (and renews it).
    let token = this.tokenOfApp.get(app.clientId);
    if (!token || !this.appOfToken(token, at)) {
      if (token) this.tokens.delete(token);
      token = randomBytes(16).toString('hex');
      this.tokenOfApp.set(app.clientId, token);
    }
    this.tokens.set(token, { clientId: app.clientId, expiresAt: at + this.ttl * 1000 });
    return ok({ accessToken: token, expireIn: this.ttl });
  }

  private handle(api: string, c: Ctx): Reply {
    switch (api) {
      case 'batchSend': return this.batchSend(c);
      case 'groupSend': return this.groupSend(c);
      case 'getbymobile': return this.getByMobile(c);
      case 'sceneGroupCreate': return this.sceneGroupCreate(c);
      case 'sceneGroupMemberAdd': return this.sceneGroupMemberAdd(c);
      default: return fail(404, 'NotFound', `no such API: ${api}`);
    }
  }

  private batchSend({ body, app, corp }: Ctx): Reply {
    // §2: batchSend takes the internal app robot's code (its Client ID), 1..20 userIds.
    if (body.robotCode !== app.clientId) throw invalid('robotCode.invalid', 'robotCode must be the robot code of this app');
    const ids = body.userIds;
    if (!Array.isArray(ids) || !ids.every((u) => typeof u === 'string' && u)) throw invalid('userIds', 'userIds must be an array of userIds'); // §2
    if (ids.length < 1) throw invalid('userIds.empty', 'userIds is empty'); // §2
    if (ids.length > MAX_BATCH_USERS) throw invalid('userIds.overMax', `at most ${MAX_BATCH_USERS} userIds`); // §2 (the strict reading: 20)
    const { msgKey, param } = parseMsg(body.msgKey, body.msgParam);
    const unique = [...new Set(ids as string[])];
    const unknown = unique.filter((u) => !corp.users.has(u));
    for (const to of unique.filter((u) => corp.users.has(u))) {
      this.delivered.push({ api: 'batchSend', robotCode: app.clientId, to, msgKey, msgParam: param });
    }
    return ok({ processQueryKey: randomBytes(24).toString('base64'), invalidStaffIdList: unknown, flowControlledStaffIdList: [] });
  }

  private groupSend({ at, body, app, corp }: Ctx): Reply {
    if (typeof body.msgParam === 'string' && Buffer.byteLength(body.msgParam, 'utf8') > MAX_GROUP_MSG_PARAM_BYTES) {
      throw reject(400, CODES.tooLong, `msgParam is longer than ${MAX_GROUP_MSG_PARAM_BYTES} bytes`); // §3
    }
    const { msgKey, param } = parseMsg(body.msgKey, body.msgParam);
    const group = this.liveGroup(corp, body.openConversationId);
    const coolAppCode = str(body.coolAppCode) || undefined;
    if (coolAppCode !== group.coolAppCode) {
      // §3: coolAppCode missing, wrong or not used in the group
      throw invalid('robotCode.coolApp', group.coolAppCode ? 'the robot joined this group through a cool app: coolAppCode is required' : 'no such cool app in this group');
    }
    const robotCode = str(body.robotCode) ?? '';
    this.checkRobot(corp, app, group, robotCode, at);
    this.delivered.push({ api: 'groupSend', robotCode, to: group.openConversationId, msgKey, msgParam: param, ...(coolAppCode ? { coolAppCode } : {}) });
    return ok({ processQueryKey: randomBytes(24).toString('base64') });
  }

  /** The app's own robot (unless the group lists its robots) or the group template's bot once installed. */
  private checkRobot(corp: Corp, app: SimApp, group: Group, robotCode: string, at: number): void {
    const tpl = group.templateId ? corp.templates.get(group.templateId) : undefined;
    if (tpl && robotCode === tpl.botId) {
      if (at < group.createdAt + (tpl.installDelayMs ?? 0)) {
        // §3, §6: no "still installing" code is documented; the documented "robot not in group" one stands for it.
        throw reject(400, CODES.robotNotInGroup, 'the robot is not in the group yet: the group template is still installing');
      }
      return;
    }
    const templateBot = [...corp.templates.values()].some((t) => t.botId === robotCode);
    if (robotCode !== app.clientId && !templateBot) throw invalid('robotCode.auth', `robotCode is not this app's robot: ${robotCode}`); // §3
    const inGroup = group.robotCodes ? group.robotCodes.includes(robotCode) : robotCode === app.clientId;
    if (!inGroup) throw reject(400, CODES.robotNotInGroup, 'the robot is not a member of this group');
  }

  private liveGroup(corp: Corp, id: unknown): Group {
    const group = corp.groups.get(str(id) ?? '');
    if (!group) throw reject(400, CODES.groupNotExist, 'no such group (openConversationId)'); // §3
    if (group.disbanded) throw reject(400, CODES.groupDisbanded, 'the group has been disbanded'); // §3
    return group;
  }

  private getByMobile({ body, corp }: Ctx): Reply {
    const mobile = str(body.mobile);
    if (!mobile) return oldFail(400002, '缺少参数 mobile'); // §4
    const user = [...corp.users.values()].find((u) => u.mobile === mobile);
    return user ? oldOk({ userid: user.userId }) : oldFail(60121, '找不到该用户'); // §4
  }

  private memberIds(corp: Corp, v: unknown, max?: number): string[] {
    const ids = idList(v);
    if (!ids) throw reject(400, CODES.parameterInvalid, 'user_ids must be an array of userIds'); // §5.1, §5.2
    // The project's own bound (§5.1: DingTalk documents none per call); the group cap is 1,000 (§5.2).
    if (max !== undefined && ids.length > max) throw reject(400, CODES.parameterInvalid, `at most ${max} initial members`);
    const unknown = ids.filter((u) => !corp.users.has(u));
    if (unknown.length) throw reject(400, CODES.memberNotFound, `unknown userIds: ${unknown.join(',')}`); // §5.1
    return ids;
  }

  private sceneGroupCreate({ at, body, corp }: Ctx): Reply {
    const title = str(body.title);
    // §5.1: "at most 30 字符", read strictly as UTF-16 code units (an emoji counts 2).
    if (!title || title.length > MAX_SCENE_GROUP_TITLE_CHARS) {
      throw reject(400, CODES.parameterInvalid, `title is required, at most ${MAX_SCENE_GROUP_TITLE_CHARS} characters`);
    }
    const templateId = str(body.template_id) ?? '';
    const tpl = corp.templates.get(templateId);
    if (!tpl) throw reject(400, CODES.templateNotFound, 'no such group template'); // §5.1
    const owner = str(body.owner_user_id) ?? '';
    if (!corp.users.has(owner)) throw reject(400, CODES.memberNotFound, 'no such owner userId'); // §5.1
    const userIds = this.memberIds(corp, body.user_ids ?? [], MAX_SCENE_GROUP_INITIAL_MEMBERS);
    const uuid = str(body.uuid) ?? '';
    let group = uuid ? corp.byUuid.get(uuid) : undefined;
    if (!group) {
      group = {
        openConversationId: `cid${randomBytes(16).toString('base64')}`, chatId: `chat${randomBytes(16).toString('hex')}`,
        disbanded: false, templateId: tpl.templateId, createdAt: at, members: new Set([owner, ...userIds]),
      };
      corp.groups.set(group.openConversationId, group);
      if (uuid) corp.byUuid.set(uuid, group);
      this.created.push({ openConversationId: group.openConversationId, chatId: group.chatId, title, templateId, ownerUserId: owner, userIds, uuid });
    }
    return ok({ open_conversation_id: group.openConversationId, chat_id: group.chatId });
  }

  private sceneGroupMemberAdd({ body, corp }: Ctx): Reply {
    const group = corp.groups.get(str(body.open_conversation_id) ?? '');
    if (!group || group.disbanded) throw reject(400, CODES.sceneGroupNotExist, 'no such scene group'); // §5.2
    const ids = this.memberIds(corp, body.user_ids);
    if (!ids.length) throw reject(400, CODES.parameterInvalid, 'user_ids is empty'); // §5.2
    for (const u of ids) group.members.add(u);
    return ok({ success: true });
  }
}

/** Starts the simulator on 127.0.0.1 (port 0 = any free port). */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new DingTalkSimulator(opts);
  await new Promise<void>((resolve, reject) => {
    sim.server.once('error', reject);
    sim.server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = sim.server.address() as AddressInfo;
  sim.url = `http://127.0.0.1:${port}`;
  sim.oapiUrl = sim.url;
  return sim;
}
