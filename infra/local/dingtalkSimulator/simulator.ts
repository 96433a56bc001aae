/**
 * A loopback DingTalk: token, robot DM and group sends, user lookup by mobile, scene groups,
 * interactive cards (with their callback) and auth codes, with DingTalk's field names, per-app
 * per-API QPS (strict 1 s sliding window), per-organisation monthly quota and injectable faults.
 * One server answers both the new (api.dingtalk.com) and the old (oapi.dingtalk.com) paths.
 * Every rule cites the docs/dingtalk-api.md section it follows; the routes live in messaging.ts,
 * sceneGroups.ts, cards.ts (cardSpaces.ts, cardCallback.ts) and authCodes.ts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { QuotaBook, SlidingWindow } from './limits';
import { errorFor, fail, isObject, ok, oldFail, Rejection, readBody, requestId, str, type Body, type ErrorKind, type Reply } from './replies';
import { corpOf, type Ctx, type SimState } from './state';
import { batchSend, getByMobile, groupSend } from './messaging';
import { sceneGroupCreate, sceneGroupDisband, sceneGroupMemberAdd } from './sceneGroups';
import { cardCallbackRegister, cardCreateAndDeliver, cardTopClose, cardUpdate } from './cards';
import { pressButton, viewOf } from './cardCallback';
import { getUserInfo, issueAuthCode } from './authCodes';
import type {
  CardParams, Fault, FaultKind, FaultRates, SimApp, SimCall, SimCard, SimCardTemplate, SimGroupCreated, SimGroupSetup,
  SimMessage, SimPress, SimPressResult, SimUser, Simulator, SimulatorOptions,
} from './types';

export type * from './types';
export { CODES } from './replies';
export { MAX_BATCH_USERS, MAX_GROUP_MSG_PARAM_BYTES } from './messaging';
export { MAX_SCENE_GROUP_INITIAL_MEMBERS, MAX_SCENE_GROUP_TITLE_CHARS } from './sceneGroups';
export { cardCallbackSignature, CALLBACK_DEADLINE_MS } from './cardCallback';
export { AUTH_CODE_TTL_MS } from './authCodes';

const AFTER_DELIVERY: ReadonlySet<FaultKind> = new Set(['hangThenDeliver', 'deliverThen5xx', 'deliverThenReset']);
const TIMEOUT_HOLD_MS = 30_000;

type Handler = (s: SimState, c: Ctx) => Reply;
interface Route { api: string; old: boolean; counted: boolean; handle?: Handler }
/**
 * Method and path to API. `counted`: against the organisation's monthly quota (§8: robot and
 * scene-group calls; §9, §10: the card routes and getuserinfo too, the safe side where DingTalk is silent).
 */
const ROUTES: Record<string, Route> = {
  'POST /v1.0/oauth2/accessToken': { api: 'token', old: false, counted: false }, // §1
  'POST /v1.0/robot/oToMessages/batchSend': { api: 'batchSend', old: false, counted: true, handle: batchSend }, // §2
  'POST /v1.0/robot/groupMessages/send': { api: 'groupSend', old: false, counted: true, handle: groupSend }, // §3
  'POST /topapi/v2/user/getbymobile': { api: 'getbymobile', old: true, counted: false, handle: getByMobile }, // §4
  'POST /v1.0/im/sceneGroup/create': { api: 'sceneGroupCreate', old: false, counted: true, handle: sceneGroupCreate }, // §5.1
  'POST /v1.0/im/sceneGroup/member/add': { api: 'sceneGroupMemberAdd', old: false, counted: true, handle: sceneGroupMemberAdd }, // §5.2
  'POST /v1.0/im/chat/scenegroup/disband': { api: 'sceneGroupDisband', old: false, counted: true, handle: sceneGroupDisband }, // §5.3
  'POST /v1.0/card/instances/createAndDeliver': { api: 'cardCreateAndDeliver', old: false, counted: true, handle: cardCreateAndDeliver }, // §9.1
  'PUT /v1.0/card/instances': { api: 'cardUpdate', old: false, counted: true, handle: cardUpdate }, // §9.2
  'POST /v1.0/card/callbacks/register': { api: 'cardCallbackRegister', old: false, counted: true, handle: cardCallbackRegister }, // §9.3
  'POST /v1.0/card/tops/close': { api: 'cardTopClose', old: false, counted: true, handle: cardTopClose }, // §9.5
  'POST /topapi/v2/user/getuserinfo': { api: 'getUserInfo', old: true, counted: true, handle: getUserInfo }, // §10
};

class DingTalkSimulator implements Simulator {
  url = '';
  oapiUrl = '';
  readonly calls: SimCall[] = [];
  readonly server = createServer((req, res) => { this.onRequest(req, res).catch(() => res.destroy()); });
  private readonly s: SimState;
  private readonly ttl: number;
  private readonly jitter?: [number, number];
  private readonly tokens = new Map<string, { clientId: string; expiresAt: number }>();
  private readonly tokenOfApp = new Map<string, string>();
  private readonly window = new SlidingWindow(1000);
  private readonly quota = new QuotaBook();
  private readonly timers = new Set<NodeJS.Timeout>();
  private faults: Fault[] = [];
  private rates?: FaultRates;
  private overLimit = 0;
  private pastQuota = 0;
  private faultSeq = 0;
  private readonly lookupApp?: SimulatorOptions['lookupApp'];

  constructor(opts: SimulatorOptions) {
    this.lookupApp = opts.lookupApp;
    this.s = {
      now: opts.now ?? (() => performance.timeOrigin + performance.now()),
      apps: new Map(), corps: new Map(), delivered: [], created: [],
      cardTemplates: new Map(), cards: new Map(), routes: new Map(), authCodes: new Map(),
    };
    this.ttl = opts.tokenTtlSeconds ?? 7200;
    this.jitter = opts.jitterMs;
  }

  // ---- setup ---------------------------------------------------------------------------------

  addApp(app: SimApp): void {
    this.s.apps.set(app.clientId, { ...app });
    corpOf(this.s, app.corpId).quota = app.monthlyQuota; // quota is per organisation: the last app added sets it
  }

  addUser(corpId: string, user: SimUser): void {
    corpOf(this.s, corpId).users.set(user.userId, { ...user, unionId: user.unionId ?? `union${user.userId}` });
  }

  addGroup(corpId: string, g: SimGroupSetup): void {
    corpOf(this.s, corpId).groups.set(g.openConversationId, {
      openConversationId: g.openConversationId, chatId: `chat${randomBytes(16).toString('hex')}`,
      robotCodes: g.robotCodes, coolAppCode: g.coolAppCode, disbanded: g.disbanded ?? false,
      createdAt: this.s.now(), members: new Set(g.members ?? []),
    });
  }

  addTemplate(corpId: string, tpl: { templateId: string; botId: string; installDelayMs?: number }): void {
    corpOf(this.s, corpId).templates.set(tpl.templateId, { ...tpl });
  }

  addCardTemplate(clientId: string, tpl: SimCardTemplate): void {
    let byId = this.s.cardTemplates.get(clientId);
    if (!byId) this.s.cardTemplates.set(clientId, byId = new Map());
    byId.set(tpl.templateId, { published: true, privateParams: ['notice'], ...tpl });
  }

  inject(fault: Fault): void { if (fault.count > 0) this.faults.push({ ...fault }); }
  setFaultRates(rates: FaultRates | undefined): void { this.rates = rates; }

  expireTokens(): void {
    this.tokens.clear();
    this.tokenOfApp.clear();
  }

  setQuotaUsed(corpId: string, used: number): void {
    this.quota.set(corpId, this.s.now(), used);
  }

  // ---- inspection and user actions -----------------------------------------------------------

  groupsCreated(): SimGroupCreated[] {
    return this.s.created.map((g) => ({ ...g, userIds: [...g.userIds] }));
  }

  group(corpId: string, openConversationId: string): { members: string[]; disbanded: boolean } | undefined {
    const g = this.s.corps.get(corpId)?.groups.get(openConversationId);
    return g && { members: [...g.members], disbanded: g.disbanded };
  }

  messages(): SimMessage[] { return [...this.s.delivered]; }

  cards(): SimCard[] {
    return [...this.s.cards.values()].map((c) => structuredClone(c));
  }

  card(outTrackId: string): SimCard | undefined {
    const c = this.s.cards.get(outTrackId);
    return c && structuredClone(c);
  }

  cardSeenBy(outTrackId: string, userId: string): CardParams | undefined {
    const c = this.s.cards.get(outTrackId);
    return c && viewOf(this.s, c, userId);
  }

  pressButton(press: SimPress): Promise<SimPressResult> {
    return pressButton(this.s, press);
  }

  issueAuthCode(clientId: string, userId: string): string {
    return issueAuthCode(this.s, clientId, userId);
  }

  overLimitCount(): number { return this.overLimit; }
  pastQuotaCount(): number { return this.pastQuota; }

  reset(): void {
    this.calls.length = 0;
    this.faults = [];
    this.rates = undefined;
    this.s.delivered = [];
    this.s.created = [];
    this.s.cards.clear();
    this.s.authCodes.clear();
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
    const at = this.s.now();
    const url = new URL(req.url ?? '/', 'http://simulator');
    const key = `${req.method} ${url.pathname}`;
    const route = Object.prototype.hasOwnProperty.call(ROUTES, key) ? ROUTES[key] : undefined;
    let body: unknown;
    try { body = raw ? JSON.parse(raw) : {}; } catch { body = raw; }
    const call: SimCall = { at, api: route?.api ?? 'unknown', status: 0, body, response: undefined, overLimit: false, counted: false };
    this.calls.push(call);
    const answer = (r: Reply): void => this.send(res, call, r);
    if (!route) return answer(fail(404, 'NotFound', `no such API: ${req.method} ${url.pathname}`));

    const appKey = route.api === 'token' && isObject(body) ? str(body.appKey) ?? '' : '';
    if (appKey && !this.s.apps.has(appKey) && this.lookupApp) {
      const found = await this.lookupApp(appKey).catch(() => undefined);
      if (found) this.addApp(found);
    }
    // §0: new APIs take the token in x-acs-dingtalk-access-token, old ones as ?access_token=.
    const app = route.api === 'token'
      ? this.s.apps.get(appKey)
      : this.appOfToken(route.old ? url.searchParams.get('access_token') : req.headers['x-acs-dingtalk-access-token'], at);
    if (app) { call.clientId = app.clientId; call.corpId = app.corpId; }

    const fault = this.takeFault(route.api);
    if (fault) call.fault = fault;
    if (fault && !AFTER_DELIVERY.has(fault)) {
      if (fault === 'timeout') return this.hold(res);
      if (fault === 'reset') return void res.socket?.destroy();
      return answer(errorFor(fault as ErrorKind, route.old, fault === '5xx' ? this.faultSeq++ : 0));
    }
    // §8: QPS per app per API, strict 1 s sliding window at arrival.
    if (app && !this.window.tryAcquire(`${app.clientId}|${route.api}`, at, app.qps)) {
      call.overLimit = true;
      this.overLimit++;
      return answer(errorFor('qps', route.old, 0));
    }
    if (!isObject(body)) {
      return answer(route.old ? oldFail(40035, '不合法的参数') : fail(400, 'InvalidParameter', 'the body must be a JSON object'));
    }
    if (route.api === 'token') return answer(this.token(body, at));
    if (!app) return answer(errorFor('invalidToken', route.old, 0)); // §8

    const corp = corpOf(this.s, app.corpId);
    // §8: the monthly quota per organisation, China-time month.
    if (route.counted && this.quota.get(app.corpId, at) >= corp.quota) {
      this.pastQuota++;
      return answer(errorFor('quota', route.old, 0));
    }
    let reply: Reply;
    const deliveredBefore = this.s.delivered.length;
    try {
      reply = route.handle ? route.handle(this.s, { at, body, query: url.searchParams, app, corp }) : fail(404, 'NotFound', route.api);
    } catch (e) {
      if (!(e instanceof Rejection)) throw e;
      reply = e.reply;
    }
    const succeeded = reply.status === 200 && !(isObject(reply.body) && typeof reply.body.errcode === 'number' && reply.body.errcode !== 0);
    if (succeeded && route.counted) {
      this.quota.add(app.corpId, at);
      call.counted = true;
    }
    if (fault && reply.status === 200) {
      // Processed (and counted): only the answer is lost.
      for (const m of this.s.delivered.slice(deliveredBefore)) m.answerLost = true;
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
    return info && info.expiresAt > at ? this.s.apps.get(info.clientId) : undefined;
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

  /** §1: within its lifetime DingTalk hands back the same token (and renews it). */
  private token(body: Body, at: number): Reply {
    const app = this.s.apps.get(str(body.appKey) ?? '');
    if (!app || str(body.appSecret) !== app.clientSecret) {
      return fail(400, 'invalidClientIdOrSecret', '无效的clientId或者clientSecret');
    }
    let token = this.tokenOfApp.get(app.clientId);
    if (!token || !this.appOfToken(token, at)) {
      if (token) this.tokens.delete(token);
      token = randomBytes(16).toString('hex');
      this.tokenOfApp.set(app.clientId, token);
    }
    this.tokens.set(token, { clientId: app.clientId, expiresAt: at + this.ttl * 1000 });
    return ok({ accessToken: token, expireIn: this.ttl });
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
