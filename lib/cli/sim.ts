import { BridgeError } from '../errors';
import { mintLinkUrl } from '../links/token';
import { getTenant } from '../store/tenants';
import type { Table } from '../store/table';
import type { EnvName } from '../contracts/env';
import { SIM_CONTROL_PATHS, SIM_CONTROL_VARIABLE, SIM_PRESS_ACTIONS, type SimControlCard, type SimControlError, type SimControlPress, type SimControlPressResult, type SimPressAction } from '../contracts/simControl';
import { cliTable, exitCodeOf, localArgs } from './stackEnv';

/**
 * `npm run sim`: drives the local stack's simulators through their loopback control server
 * (lib/contracts/simControl.ts), so the two-way flow of docs/two-way.md can be walked by hand:
 * link a member, see the cards, press a button, see what Flashduty recorded. Local stack only.
 */

/** The environment contract's name of the bridge's public base URL (link URLs are built under it). */
const PUBLIC_URL_VARIABLE: EnvName = 'PUBLIC_URL';
/** The snooze a press makes without --minutes: the template's first snooze button (docs/two-way.md, "Cards"). */
export const DEFAULT_SNOOZE_MINUTES = 120;

const USAGE = `usage: npm run sim -- --local <command>
  cards [outTrackId]   the DingTalk simulator's cards: spaces, public data, and what each user who can
                       see one sees (their private notice after a press included) (JSON)
  press <outTrackId> <userId> ack|close|snooze [--minutes N]
                       the user presses the card's button: DingTalk's signed callback goes to the bridge;
                       prints the bridge's answer (status, body) as DingTalk got it (snooze: default ${DEFAULT_SNOOZE_MINUTES} min)
  auth-code <tenantId> <userId>
                       an auth code for the user, as dd.requestAuthCode gives the tenant app's page (5 min, once)
  link <tenantId> <memberId> <userId>
                       what the link page does when the user opens the member's link URL inside DingTalk:
                       mints the URL, gets the user's auth code, posts it to the link route; prints the answer
  group <tenantId> <openConversationId>
                       a group of the tenant's organisation: members, disbanded (JSON)
  flashduty [incidentId]
                       the Flashduty simulator's recorded actions (for the incident), and the incident's progress (JSON)
  --local              use the local stack started by "npm start" (${SIM_CONTROL_VARIABLE} etc. in .local/stack.env)
The control server answers loopback requests only; nothing here exists in AWS.`;

type Out = (line: string) => void;

export interface SimCliIo {
  out: Out;
  err: Out;
  /** The table (tests); else TABLE_NAME's. */
  table?: Table;
  /** Where --local reads the stack's endpoints (default .local/stack.env). */
  envFile?: string;
  now?: () => number;
}

interface Ctx {
  io: SimCliIo;
  control: string;
  now: () => number;
}

/** The local stack is not running, or runs no simulator: nothing answered at the control URL. */
export class StackNotRunningError extends BridgeError {
  constructor(message: string) {
    super(message, 1, 'not_running');
  }
}

/** A request to the control server; its JSON answer, or a {@link BridgeError} with what it refused. */
async function control<T>(ctx: Ctx, path: string, opts: { query?: Record<string, string>; body?: unknown } = {}): Promise<T> {
  const url = `${ctx.control}${path}${opts.query ? `?${new URLSearchParams(opts.query)}` : ''}`;
  let res: Response;
  try {
    res = await fetch(url, opts.body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(opts.body) });
  } catch (e) {
    const why = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (e as Error).message;
    throw new StackNotRunningError(`the local stack is not running (nothing answers at ${ctx.control}: ${why}): start it with "npm start"`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) throw new BridgeError(`the simulator refused: ${(body as Partial<SimControlError> | undefined)?.error ?? `HTTP ${res.status}`}`, 1, 'refused');
  return body as T;
}

const json = (v: unknown): string => JSON.stringify(v, null, 2);

async function tenantOf(ctx: Ctx, id: string) {
  const table = cliTable(ctx.io);
  if (!table) throw new BridgeError('no table', 2, 'usage');
  const t = await getTenant(table, id);
  if (!t) throw new BridgeError(`no tenant ${id}`, 1, 'not_found');
  return { table, tenant: t };
}

const issueCode = (ctx: Ctx, clientId: string, userId: string): Promise<{ code: string }> =>
  control(ctx, SIM_CONTROL_PATHS.authCode, { body: { clientId, userId } });

/** `press` arguments: outTrackId, userId, action, and --minutes N for a snooze. */
export function parsePressArgs(args: string[]): SimControlPress {
  const i = args.indexOf('--minutes');
  let minutes: number | undefined;
  if (i >= 0) {
    minutes = Number(args[i + 1]);
    if (!Number.isInteger(minutes) || minutes < 1) throw new BridgeError('--minutes needs a positive whole number', 2, 'usage');
  }
  const [outTrackId, userId, action, ...extra] = i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)];
  if (!outTrackId || !userId || !action || extra.length) throw new BridgeError('press needs <outTrackId> <userId> ack|close|snooze', 2, 'usage');
  if (!(SIM_PRESS_ACTIONS as readonly string[]).includes(action)) throw new BridgeError(`the action is one of ${SIM_PRESS_ACTIONS.join(', ')}, not ${action}`, 2, 'usage');
  if (minutes !== undefined && action !== 'snooze') throw new BridgeError('--minutes goes with snooze only', 2, 'usage');
  return { outTrackId, userId, action: action as SimPressAction, ...(action === 'snooze' && { minutes: minutes ?? DEFAULT_SNOOZE_MINUTES }) };
}

type Command = (ctx: Ctx, args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  async cards(ctx, [outTrackId, ...extra]) {
    if (extra.length) throw new BridgeError('cards takes at most an outTrackId', 2, 'usage');
    const cards = await control<SimControlCard[]>(ctx, SIM_CONTROL_PATHS.cards, outTrackId ? { query: { outTrackId } } : {});
    if (outTrackId && !cards.length) throw new BridgeError(`no card ${outTrackId}`, 1, 'not_found');
    ctx.io.out(json(cards));
    return 0;
  },
  async press(ctx, args) {
    const press = parsePressArgs(args);
    const r = await control<SimControlPressResult>(ctx, SIM_CONTROL_PATHS.press, { body: press });
    ctx.io.err(r.status ? `the bridge answered DingTalk's card callback with ${r.status}` : "the bridge did not answer DingTalk's card callback within 2 s");
    ctx.io.out(json({ status: r.status, answer: r.answer }));
    return r.status === 200 ? 0 : 1;
  },
  async 'auth-code'(ctx, [tenantId, userId, ...extra]) {
    if (!tenantId || !userId || extra.length) throw new BridgeError('auth-code needs <tenantId> <userId>', 2, 'usage');
    const { tenant } = await tenantOf(ctx, tenantId);
    ctx.io.out((await issueCode(ctx, tenant.clientId, userId)).code);
    ctx.io.err(`an auth code of app ${tenant.clientId} for ${userId}: valid 5 minutes, once`);
    return 0;
  },
  async link(ctx, [tenantId, memberId, userId, ...extra]) {
    if (!tenantId || !memberId || !userId || extra.length) throw new BridgeError('link needs <tenantId> <memberId> <userId>', 2, 'usage');
    const { table, tenant } = await tenantOf(ctx, tenantId);
    const publicUrl = process.env[PUBLIC_URL_VARIABLE];
    if (!publicUrl) throw new BridgeError('PUBLIC_URL is not set (use --local)', 2, 'usage');
    const { url } = await mintLinkUrl(table, { publicUrl, tenantId: tenant.tenantId, memberId, nowMs: ctx.now() });
    const { code } = await issueCode(ctx, tenant.clientId, userId);
    // What the page's script posts (docs/two-way.md, "Linking"): the code and the link's m, e, s.
    const [route, query] = url.split('?');
    const res = await fetch(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, ...Object.fromEntries(new URLSearchParams(query)) }) })
      .catch((e: Error) => { throw new StackNotRunningError(`the bridge does not answer at ${route} (${e.message}): is the local stack running?`); });
    const text = await res.text();
    ctx.io.err(`the link route answered ${res.status}`);
    ctx.io.out(res.headers.get('content-type')?.includes('json') ? json(JSON.parse(text)) : text.slice(0, 2000));
    return res.status === 200 ? 0 : 1;
  },
  async group(ctx, [tenantId, cid, ...extra]) {
    if (!tenantId || !cid || extra.length) throw new BridgeError('group needs <tenantId> <openConversationId>', 2, 'usage');
    const { tenant } = await tenantOf(ctx, tenantId);
    ctx.io.out(json(await control(ctx, SIM_CONTROL_PATHS.group, { query: { corpId: tenant.corpId, openConversationId: cid } })));
    return 0;
  },
  async flashduty(ctx, [incidentId, ...extra]) {
    if (extra.length) throw new BridgeError('flashduty takes at most an incidentId', 2, 'usage');
    const actions = await control<Array<{ incidentIds: string[] }>>(ctx, SIM_CONTROL_PATHS.flashdutyActions);
    if (!incidentId) {
      ctx.io.out(json({ actions }));
      return 0;
    }
    const found = await control<{ accountId: number; incident: unknown }>(ctx, SIM_CONTROL_PATHS.flashdutyIncident, { query: { incidentId } });
    ctx.io.out(json({ actions: actions.filter((a) => a.incidentIds.includes(incidentId)), ...found }));
    return 0;
  },
};

/**
 * Runs the sim CLI; returns the exit code (2: usage, 1: refused or the stack not running). Exposed
 * for tests, which pass their env file (--local) and table.
 *
 * @example
 * await runSimCli(['--local', 'cards'], { out: console.log, err: console.error })
 */
export async function runSimCli(argv: string[], io: SimCliIo): Promise<number> {
  const args = localArgs(argv, io, io.envFile);
  if (!args) return 2;
  const [name, ...rest] = args;
  const cmd = name && Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
  if (!cmd) {
    io.err(USAGE);
    return 2;
  }
  const base = process.env[SIM_CONTROL_VARIABLE];
  if (!base) {
    io.err(`${SIM_CONTROL_VARIABLE} is not set: start the local stack with "npm start", then use --local`);
    return 2;
  }
  return exitCodeOf(io, () => cmd({ io, control: base.replace(/\/+$/, ''), now: io.now ?? Date.now }, rest));
}

if (require.main === module) {
  runSimCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then((code) => {
    process.exitCode = code;
  });
}
