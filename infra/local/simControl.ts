/**
 * The simulators' control surface of `npm start` (lib/contracts/simControl.ts, docs/two-way.md):
 * a small HTTP server of its own, on 127.0.0.1, that lets `npm run sim` see and do what a DingTalk
 * user would (cards, button presses, auth codes, groups) and read the Flashduty simulator's record.
 * Local-only: it refuses any request not from loopback, any Host but a loopback one (a DNS name
 * rebound to 127.0.0.1) and any request a browser page sent (an Origin header, a POST that is not
 * JSON), so a web page can neither read it nor press a button.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIM_CONTROL_PATHS, SIM_PRESS_ACTIONS, type SimControlCard, type SimControlPress, type SimControlPressResult, type SimPressAction } from '../../lib/contracts/simControl';
import type { SimCard, Simulator } from './dingtalkSimulator/simulator';
import type { FlashdutySimulator } from './flashdutySimulator/simulator';

/** A refusal with its HTTP status. */
export class SimControlRefusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'SimControlRefusal';
  }
}

export interface SimControlOptions {
  dingtalk?: Simulator;
  flashduty?: FlashdutySimulator;
  /** The Flashduty accounts an incident is looked up in when the request names none (the seed's). */
  flashdutyAccounts?: number[];
  port?: number;
  /** Where to listen (default 127.0.0.1). Tests listen on all interfaces to see a remote request refused. */
  host?: string;
}

export interface SimControl {
  url: string;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024;

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export const isLoopback = (address: string | undefined): boolean =>
  !!address && (/^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address) || address === '::1');

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d+)?$/i;

/** Why the request is refused (403), or undefined when it comes from this machine's own tools. */
function refusal(req: IncomingMessage): string | undefined {
  if (!isLoopback(req.socket.remoteAddress)) return 'the simulator control is local-only: loopback requests only';
  if (!LOOPBACK_HOST.test(req.headers.host ?? '')) return 'the simulator control is local-only: Host must be a loopback address';
  if (req.headers.origin !== undefined) return 'the simulator control takes no browser requests (Origin header)';
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) reject(new SimControlRefusal(413, `body larger than ${MAX_BODY_BYTES} bytes`));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const text = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || !v) throw new SimControlRefusal(400, `${name} must be a non-empty string`);
  return v;
};

/** Every user who might see the card: DM recipients, top-card users, the groups' members. */
function viewers(card: SimCard, dingtalk: Simulator): string[] {
  const ids = new Set<string>();
  for (const sp of card.spaces) {
    for (const u of [...(sp.recipients ?? []), ...(sp.userIds ?? [])]) ids.add(u);
    if (sp.spaceType !== 'IM_ROBOT') for (const u of dingtalk.group(card.corpId, sp.spaceId)?.members ?? []) ids.add(u);
  }
  return [...ids].sort();
}

function cardView(card: SimCard, dingtalk: Simulator): SimControlCard {
  const seenBy: SimControlCard['seenBy'] = {};
  for (const u of viewers(card, dingtalk)) {
    const view = dingtalk.cardSeenBy(card.outTrackId, u);
    if (view) seenBy[u] = view;
  }
  return {
    outTrackId: card.outTrackId, clientId: card.clientId, corpId: card.corpId, cardTemplateId: card.cardTemplateId, updates: card.updates,
    spaces: card.spaces.map((s) => ({ spaceType: s.spaceType, spaceId: s.spaceId, success: s.success, ...(s.errorMsg !== undefined && { errorMsg: s.errorMsg }) })),
    cardData: card.cardData,
    seenBy,
  };
}

function parsePress(body: Record<string, unknown>): SimControlPress {
  const action = body.action;
  if (typeof action !== 'string' || !(SIM_PRESS_ACTIONS as readonly string[]).includes(action)) throw new SimControlRefusal(400, `action must be one of ${SIM_PRESS_ACTIONS.join(', ')}`);
  const press: SimControlPress = { outTrackId: text(body.outTrackId, 'outTrackId'), userId: text(body.userId, 'userId'), action: action as SimPressAction };
  if (action === 'snooze') {
    if (!Number.isInteger(body.minutes) || (body.minutes as number) < 1) throw new SimControlRefusal(400, 'snooze needs minutes, a positive whole number');
    press.minutes = body.minutes as number;
  } else if (body.minutes !== undefined) {
    throw new SimControlRefusal(400, 'minutes go with snooze only');
  }
  return press;
}

/** The press as DingTalk's user makes it: the button's params are the template's (docs/two-way.md, "Cards"). */
async function press(dingtalk: Simulator, p: SimControlPress): Promise<SimControlPressResult> {
  const params: Record<string, string> = { action: p.action, ...(p.minutes !== undefined && { minutes: String(p.minutes) }) };
  let r;
  try {
    r = await dingtalk.pressButton({ outTrackId: p.outTrackId, userId: p.userId, actionId: p.action, params });
  } catch (e) {
    throw new SimControlRefusal(404, (e as Error).message); // no such card, user, or one who cannot see it
  }
  return { url: r.url, status: r.status, answer: r.answer };
}

function need<T>(sim: T | undefined, what: string): T {
  if (!sim) throw new SimControlRefusal(404, `the local stack runs no ${what} simulator (a real URL was configured)`);
  return sim;
}

async function route(req: IncomingMessage, o: SimControlOptions): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://control');
  const q = (k: string): string => text(url.searchParams.get(k) ?? undefined, k);
  const key = `${req.method} ${url.pathname}`;
  const P = SIM_CONTROL_PATHS;
  let body: Record<string, unknown> = {};
  if (req.method === 'POST') {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new SimControlRefusal(415, 'POST a JSON body (content-type: application/json)');
    const raw = await readBody(req);
    try {
      body = JSON.parse(raw || '{}');
    } catch {
      throw new SimControlRefusal(400, 'the body is not JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SimControlRefusal(400, 'the body must be a JSON object');
  }
  switch (key) {
    case `GET ${P.index}`:
      return { localOnly: true, endpoints: P };
    case `GET ${P.cards}`: {
      const dt = need(o.dingtalk, 'DingTalk');
      const only = url.searchParams.get('outTrackId');
      return dt.cards().filter((c) => !only || c.outTrackId === only).map((c) => cardView(c, dt));
    }
    case `POST ${P.press}`:
      return press(need(o.dingtalk, 'DingTalk'), parsePress(body));
    case `POST ${P.authCode}`: {
      const dt = need(o.dingtalk, 'DingTalk');
      const [clientId, userId] = [text(body.clientId, 'clientId'), text(body.userId, 'userId')];
      try {
        return { code: dt.issueAuthCode(clientId, userId) };
      } catch (e) {
        throw new SimControlRefusal(404, (e as Error).message); // no such app, or no such user in its organisation
      }
    }
    case `GET ${P.group}`: {
      const [corpId, cid] = [q('corpId'), q('openConversationId')];
      const g = need(o.dingtalk, 'DingTalk').group(corpId, cid);
      if (!g) throw new SimControlRefusal(404, `no group ${cid} in ${corpId}`);
      return g;
    }
    case `GET ${P.flashdutyActions}`:
      return need(o.flashduty, 'Flashduty').actions();
    case `GET ${P.flashdutyIncident}`: {
      const fd = need(o.flashduty, 'Flashduty');
      const incidentId = q('incidentId');
      const given = url.searchParams.get('accountId');
      const accounts = given ? [Number(given)] : o.flashdutyAccounts ?? [];
      for (const accountId of accounts) {
        const incident = fd.incident(accountId, incidentId);
        if (incident) return { accountId, incident };
      }
      throw new SimControlRefusal(404, `no incident ${incidentId}${given ? ` in account ${given}` : ''}`);
    }
    default:
      throw new SimControlRefusal(404, `no such endpoint: ${key} (GET ${P.index} lists them)`);
  }
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const out = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(out), 'cache-control': 'no-store' });
  res.end(out);
}

async function onRequest(req: IncomingMessage, res: ServerResponse, o: SimControlOptions): Promise<void> {
  const refused = refusal(req);
  if (refused) {
    req.resume();
    return answer(res, 403, { error: refused });
  }
  try {
    answer(res, 200, await route(req, o));
  } catch (e) {
    if (!(e instanceof SimControlRefusal)) throw e;
    answer(res, e.status, { error: e.message });
  }
}

/** Starts the control server (port 0 = any free port); its base URL is SIMULATOR_CONTROL_URL. */
export async function startSimControl(o: SimControlOptions): Promise<SimControl> {
  const server: Server = createServer((req, res) => {
    onRequest(req, res, o).catch((e: Error) => answer(res, 500, { error: e.message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
