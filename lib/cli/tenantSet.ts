import { readFileSync } from 'node:fs';
import { DEFAULT_GRACE_MS, MAX_GRACE_MS } from '../callback/rotation';
import { OPTIONAL_SECRET_FIELDS, parseTenant, SECRET_FIELDS, tenantSchema, type Tenant } from '../contracts/tenant';
import { BridgeError } from '../errors';
import { readSecret, type Input } from './prompt';

const usage = (message: string) => new BridgeError(message, 2, 'usage');
const SECRETS: readonly string[] = SECRET_FIELDS;
const KEPT_BY_ROTATION = ['previousAesKey', 'previousToken'];
const DURATION = /^(\d+)([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Takes `--grace <duration>` (`90m`, `24h`, `7d`, or `0`) out of the arguments: how long a replaced
 * aesKey or token stays accepted by the callback. 24 h when absent, at most 7 d.
 *
 * @example
 * takeGrace(['acme', 'aesKey=-', '--grace', '2h']) // { graceMs: 7200000, rest: ['acme', 'aesKey=-'] }
 */
export function takeGrace(args: string[]): { graceMs: number; rest: string[] } {
  const at = args.indexOf('--grace');
  if (at < 0) return { graceMs: DEFAULT_GRACE_MS, rest: args };
  const given = args[at + 1] ?? '';
  const m = DURATION.exec(given);
  const graceMs = given === '0' ? 0 : m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
  if (!(graceMs <= MAX_GRACE_MS)) throw usage('--grace takes a duration such as 90m, 24h or 7d (at most 7d), or 0');
  return { graceMs, rest: [...args.slice(0, at), ...args.slice(at + 2)] };
}

function readSecretFile(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw usage(`cannot read the ${field} file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** The value as the field's schema takes it: a number for a number field, else the text. */
function typed(field: keyof typeof tenantSchema.shape, value: string): unknown {
  const schema = tenantSchema.shape[field];
  const n = Number(value);
  return !schema.safeParse(value).success && schema.safeParse(n).success ? n : value;
}

/**
 * Applies `field=value` arguments to a tenant record and validates the result with the tenant
 * contract ({@link parseTenant}). A secret (clientSecret, aesKey, token, flashdutyAppKey) is read from stdin
 * (`field=-`) or from a file (`field=@<path>`), never taken from the command line; `field=` removes
 * an optional field. Throws a usage error (exit 2) that never repeats a given value.
 *
 * @example
 * const { tenant, changed } = await applyAssignments(before, ['qps=30', 'aesKey=@new-aes-key.txt'], { stdin: process.stdin, err: console.error });
 */
export async function applyAssignments(
  before: Tenant,
  assignments: string[],
  io: { stdin: Input; err: (line: string) => void },
): Promise<{ tenant: Tenant; changed: string[] }> {
  if (!assignments.length) throw usage('set needs a tenantId and at least one <field>=<value>');
  const next: Record<string, unknown> = { ...before };
  const changed: string[] = [];
  let stdinRead = false;
  for (const [n, arg] of assignments.entries()) {
    const m = /^([A-Za-z]{1,64})=(.*)$/s.exec(arg);
    if (!m) throw usage(`argument ${n + 2} of set is not <field>=<value>`);
    const [, field, value] = m;
    if (!Object.hasOwn(tenantSchema.shape, field)) throw usage(`unknown field ${field} (fields: ${Object.keys(tenantSchema.shape).join(', ')})`);
    if (field === 'tenantId') throw usage('tenantId cannot be changed: put the record under the new id, then delete this one');
    if (changed.includes(field)) throw usage(`${field} is given twice`);
    if (KEPT_BY_ROTATION.includes(field)) {
      // Only revoked (`field=`): the replaced secret stops being accepted now (a leak, say).
      if (value !== '') throw usage(`${field} is kept when the secret is replaced (see --grace), not set; ${field}= stops accepting it now`);
      const prev = next[field] as { value: string } | undefined;
      if (prev) next[field] = { value: prev.value, until: new Date(0).toISOString() };
      changed.push(field);
      continue;
    }
    if (SECRETS.includes(field) && value === '' && OPTIONAL_SECRET_FIELDS.includes(field)) {
      delete next[field];
    } else if (SECRETS.includes(field)) {
      if (value !== '-' && !/^@./s.test(value)) {
        throw usage(`${field} is a secret and is never taken from the command line: give it as ${field}=- (read from stdin) or ${field}=@<file>`);
      }
      if (value === '-' && stdinRead) throw usage('only one secret can come from stdin');
      stdinRead ||= value === '-';
      if (value === '-' && io.stdin.isTTY) io.err(`${field} (not shown as you type), then Enter:`);
      const text = (value === '-' ? await readSecret(io.stdin) : readSecretFile(value.slice(1), field)).trim();
      if (!text) throw usage(`${field}: nothing read from ${value === '-' ? 'stdin' : value.slice(1)}`);
      next[field] = text;
    } else if (value === '') {
      delete next[field];
    } else {
      next[field] = typed(field as keyof typeof tenantSchema.shape, value);
    }
    changed.push(field);
  }
  return { tenant: parseTenant(next), changed };
}
