import { readFileSync } from 'node:fs';
import { BridgeError } from '../errors';
import { listGroups } from '../store/groups';
import type { Table } from '../store/table';
import { getTenant, listTenants, putTenant } from '../store/tenants';
import { countByKind, removeItems, tenantItems } from '../store/tenantDelete';
import { limitsOf, maskTenant, parseTenant, type Tenant } from '../contracts/tenant';
import { rotateSecrets } from '../callback/rotation';
import { getFullTenant, getUnmigratedTenant, type TenantRecord } from '../store/secrets';
import { migrate } from '../store/migrate';
import { listParked } from '../quota/parking';
import { clearExhausted } from '../quota/counter';
import { chinaMonth } from '../util/chinaTime';
import { formatUsage, usageReport } from '../quota/usage';
import { cliTable, exitCodeOf, localArgs } from './stackEnv';
import { readLine, type Input } from './prompt';
import { applyAssignments, takeGrace } from './tenantSet';
import { mintLinkUrl } from '../links/token';
import { listLinks } from '../store/links';
import type { EnvName } from '../contracts/env';

/** The environment contract's name of the bridge's public base URL (link URLs are built under it). */
const PUBLIC_URL_VARIABLE: EnvName = 'PUBLIC_URL';

/** `--days N` taken out of the arguments (undefined: the default validity). */
function takeDays(args: string[]): { days?: number; rest: string[] } {
  const i = args.indexOf('--days');
  if (i < 0) return { rest: args };
  const days = Number(args[i + 1]);
  if (!Number.isFinite(days) || days <= 0) throw new BridgeError('--days needs a positive number', 2, 'usage');
  return { days, rest: [...args.slice(0, i), ...args.slice(i + 2)] };
}

const USAGE = `usage: npm run tenant -- [--local] <command>
  put <file.json>      create or replace a tenant from a JSON record
  set <tenantId> <field>=<value>...
                       change single fields; field= removes an optional one. A secret (clientSecret,
                       aesKey, token, flashdutyAppKey) only as field=- (read from stdin) or
                       field=@<file>, never inline
  --grace <duration>   with put or set: a replaced aesKey or token stays accepted by the callback
                       this long (default 24h, at most 7d, 0 = not at all)
  get <tenantId>       show a tenant (secrets masked)
  list                 list tenants (their records: no secrets)
  delete <tenantId> [--yes]
                       delete a tenant and everything stored for it, after you confirm (--yes: no prompt)
  groups <tenantId>    list a tenant's groups: title, linked, coolAppCode (JSON)
  usage <tenantId>     this month's DingTalk calls for the tenant's organisation, thresholds, forecast
  parked <tenantId>    messages parked because the organisation's monthly quota is used up, with their expiry
  link-url <tenantId> <memberId> [--days N]
                       print the member's signed link URL (valid N days, default 7; PUBLIC_URL is the
                       stack output ApiUrl, or --local): they open it inside DingTalk to link their account
  links <tenantId>     list the tenant's DingTalk links: memberId, userId, name, linkedAt (JSON)
  migrate [--strip]    upgrade records written before the secrets split, in two steps (README, "Upgrading"):
                       migrate BEFORE deploying (copies secrets, keeps them in the tenant items),
                       migrate --strip AFTER deploying (removes them from the tenant items)
  --local              use the local stack started by "npm start" (.local/stack.env)
Otherwise TABLE_NAME and the usual AWS credentials/region (and optional AWS_ENDPOINT_URL_DYNAMODB) are used.`;

type Out = (line: string) => void;
interface Io {
  out: Out;
  err: Out;
  stdin: Input;
  now: () => number;
}
type Command = (table: Table, args: string[], io: Io) => Promise<number>;

/** Stores `next` in place of `before`, keeping a replaced aesKey/token for the grace window, and says what changed. */
async function save(table: Table, before: Tenant | undefined, next: Tenant, graceMs: number, { out, now }: Io): Promise<Tenant> {
  const t = await putTenant(table, rotateSecrets(before, next, now(), graceMs));
  for (const [f, prev] of [['aesKey', t.previousAesKey], ['token', t.previousToken]] as const) {
    if (before && before[f] !== t[f]) out(prev ? `the previous ${f} is still accepted by the callback until ${prev.until}` : `the previous ${f} is no longer accepted`);
  }
  if (before && limitsOf(t).monthlyQuota > limitsOf(before).monthlyQuota) {
    // A raised quota lifts the month's "exhausted" mark; parked messages go on the next sweep.
    await clearExhausted(table, t.corpId, chinaMonth(now()));
    out(`monthly quota raised to ${limitsOf(t).monthlyQuota}: parked messages are sent on the next unpark sweep`);
  }
  return t;
}

export const commands: Record<string, Command> = {
  async put(table, args, io) {
    const { graceMs, rest: [file] } = takeGrace(args);
    if (!file) throw new BridgeError('put needs a JSON file', 2, 'usage');
    let input: unknown;
    try {
      input = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      // Never echo the parser's message: it quotes the input, secrets included.
      const why = e instanceof SyntaxError ? 'not valid JSON' : (e as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new BridgeError(`cannot read ${file}: ${why}`, 2, 'usage');
    }
    const next = parseTenant(input);
    const t = await save(table, await storedTenant(table, next.tenantId), next, graceMs, io);
    io.out(`saved tenant ${t.tenantId} (corpId ${t.corpId}, edition ${t.edition})`);
    return 0;
  },
  async set(table, args, io) {
    const { graceMs, rest: [id, ...assignments] } = takeGrace(args);
    await requireTenant(table, id, 'set');
    const before = (await getFullTenant(table, id!, (x) => getTenant(table, x)))!;
    const { tenant, changed } = await applyAssignments(before, assignments, io);
    await save(table, before, tenant, graceMs, io);
    io.out(`updated tenant ${tenant.tenantId}: ${changed.join(', ')}`);
    return 0;
  },
  async get(table, [id], { out }) {
    if (!id) throw new BridgeError('get needs a tenantId', 2, 'usage');
    const t = await getFullTenant(table, id, (x) => getTenant(table, x));
    if (!t) throw new BridgeError(`no tenant ${id}`, 1, 'not_found');
    out(JSON.stringify(maskTenant(t), null, 2));
    return 0;
  },
  async list(table, _args, { out }) {
    const all = await listTenants(table);
    out(JSON.stringify(all, null, 2));
    return 0;
  },
  async delete(table, args, io) {
    const yes = args.includes('--yes');
    const tenant = await requireTenant(table, args.find((a) => a !== '--yes'), 'delete');
    const id = tenant.tenantId;
    if (!yes && !io.stdin.isTTY) throw new BridgeError(`not deleting ${id}: no terminal to confirm at; add --yes to delete without asking`, 2, 'usage');
    const others = (await listTenants(table)).filter((o) => o.tenantId !== id);
    const items = await tenantItems(table, tenant, others);
    const sharing = others.filter((o) => o.corpId === tenant.corpId || o.clientId === tenant.clientId).map((o) => o.tenantId);
    if (sharing.length) io.out(`keeping what ${id} shares with ${sharing.join(', ')} (same organisation or app)`);
    if (!yes) {
      io.err(`this deletes ${countByKind(items)}`);
      io.err(`type the tenant id (${id}) to delete it:`);
      if ((await readLine(io.stdin)).trim() !== id) throw new BridgeError('not confirmed: nothing deleted', 1, 'aborted');
    }
    await removeItems(table, items);
    io.out(`deleted tenant ${id}: ${countByKind(items)}`);
    return 0;
  },
  async groups(table, [id], { out }) {
    if (!id) throw new BridgeError('groups needs a tenantId', 2, 'usage');
    const groups = await listGroups(table, id);
    out(
      JSON.stringify(
        groups.map((g) => ({
          openConversationId: g.openConversationId,
          title: g.title ?? null,
          linked: g.linked,
          coolAppCode: g.coolAppCode ?? null,
          robotCode: g.robotCode ?? null,
          linkedAt: g.linkedAt ?? null,
          unlinkedAt: g.unlinkedAt ?? null,
          ...(g.warRoom && { warRoom: g.warRoom }),
        })),
        null,
        2,
      ),
    );
    return 0;
  },
  async usage(table, [id], { out }) {
    const t = await requireTenant(table, id, 'usage');
    out(formatUsage(await usageReport(table, { corpId: t.corpId, quota: limitsOf(t).monthlyQuota })));
    return 0;
  },
  async migrate(table, args, { out }) {
    const strip = args.includes('--strip');
    const r = await migrate(table, { out, strip });
    const tenants = strip ? `${r.stripped} tenant(s) stripped` : `${r.tenants} tenant(s)`;
    out(`migrated: ${tenants}, ${r.chats} group/war-room item(s), ${r.eventCounts} event counter(s), ${r.parked} parked message(s); ${r.conflicts} conflict(s)`);
    return r.conflicts ? 1 : 0;
  },
  async 'link-url'(table, args, { out, err, now }) {
    const { days, rest: [id, memberId, ...extra] } = takeDays(args);
    if (!memberId || extra.length) throw new BridgeError('link-url needs a tenantId and a memberId', 2, 'usage');
    const t = await requireTenant(table, id, 'link-url');
    const publicUrl = process.env[PUBLIC_URL_VARIABLE];
    if (!publicUrl) throw new BridgeError('PUBLIC_URL is not set (use --local for the local stack, or the stack output ApiUrl)', 2, 'usage');
    const { url, expiresAt } = await mintLinkUrl(table, { publicUrl, tenantId: t.tenantId, memberId, nowMs: now(), days });
    out(url);
    err(`valid until ${new Date(expiresAt * 1000).toISOString()}: send it to member ${memberId} only; whoever opens it inside DingTalk becomes that member's DingTalk user`);
    return 0;
  },
  async links(table, [id], { out }) {
    const t = await requireTenant(table, id, 'links');
    const links = await listLinks(table, t.tenantId);
    out(JSON.stringify(links.map((l) => ({ memberId: l.memberId, userId: l.userId, name: l.name ?? null, linkedAt: l.linkedAt })), null, 2));
    return 0;
  },
  async parked(table, [id], { out }) {
    const t = await requireTenant(table, id, 'parked');
    const parked = await listParked<{ id: string; tenantId: string; kind: string; severity?: string }>(table, t.corpId);
    out(JSON.stringify(parked.map((p) => ({ id: p.message.id, tenantId: p.message.tenantId, kind: p.message.kind, severity: p.message.severity ?? null, month: p.month, parkedAt: new Date(p.parkedAt).toISOString(), expiresAt: p.expiresAt === undefined ? null : new Date(p.expiresAt * 1000).toISOString(), reason: p.reason })), null, 2));
    return 0;
  },
};

/**
 * What is stored of a tenant, to replace it: the whole tenant, or where its item is not migrated
 * (no secret items: a migration conflict, say) the secrets its item still holds; undefined when
 * neither is whole (the put then writes the tenant anew, without a rotation window).
 */
async function storedTenant(table: Table, id: string): Promise<Tenant | undefined> {
  try {
    return await getFullTenant(table, id, (x) => getTenant(table, x));
  } catch (e) {
    if (!(e instanceof BridgeError) || e.code !== 'not_migrated') throw e;
    return getUnmigratedTenant(table, id);
  }
}

async function requireTenant(table: Table, id: string | undefined, cmd: string): Promise<TenantRecord> {
  if (!id) throw new BridgeError(`${cmd} needs a tenantId`, 2, 'usage');
  const t = await getTenant(table, id);
  if (!t) throw new BridgeError(`no tenant ${id}`, 1, 'not_found');
  return t;
}

/**
 * Runs the tenant CLI; returns the exit code. Exposed for tests, which pass their own table, output,
 * stdin (secrets, confirmations) and clock.
 *
 * @example
 * await runTenantCli(['list'], { table, out: console.log, err: console.error })
 */
export async function runTenantCli(argv: string[], io: { table?: Table; out: Out; err: Out; stdin?: Input; now?: () => number }): Promise<number> {
  const args = localArgs(argv, io);
  if (!args) return 2;
  const [name, ...rest] = args;
  const cmd = name ? commands[name] : undefined;
  if (!cmd) {
    io.err(USAGE);
    return 2;
  }
  const table = cliTable(io);
  if (!table) return 2;
  return exitCodeOf(io, () => cmd(table, rest, { out: io.out, err: io.err, stdin: io.stdin ?? process.stdin, now: io.now ?? Date.now }));
}

if (require.main === module) {
  runTenantCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then((code) => {
    process.exitCode = code;
  });
}
