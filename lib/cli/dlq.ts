import { SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import {
  countDeadLetters,
  deleteDeadLetters,
  findDeadLetterQueue,
  moveBack,
  QUEUE_NAMES,
  QUEUE_VARIABLES,
  readDeadLetters,
  showAgain,
  type DeadLetter,
  type DeadLetterQueue,
  type QueueName,
} from '../queue/deadLetters';
import { whyPoison } from '../queue/poison';
import { isPermanentSendError } from '../queue/sqs';
import { getTenant } from '../store/tenants';
import type { Table } from '../store/table';
import { readLine, type Input } from './prompt';
import { cliTable, localArgs } from './stackEnv';

const USAGE = `usage: npm run dlq -- [--local] <command> [--queue notify|events|drain|actions]
  list [--max N]      each dead letter: age, kind, tenant, id and why it is there (never the body); N per queue, default 100
  redrive [--force]   send dead letters back to their queue, then delete them from the DLQ; those that can never
                      succeed (invalid, tenant not registered, too long) stay, unless --force
  purge [--yes]       delete every message of the dead-letter queue(s), after asking (--yes: without asking)
  --queue <name>      only that queue's DLQ (default: every queue whose URL is set)
  --local             use the local stack started by "npm start" (.local/stack.env)
Otherwise NOTIFY_QUEUE_URL, EVENTS_QUEUE_URL, DRAIN_QUEUE_URL, ACTIONS_QUEUE_URL (stack outputs NotifyQueueUrl,
EventsQueueUrl, DrainQueueUrl, ActionsQueueUrl; each DLQ is found from its queue's redrive policy), TABLE_NAME (redrive) and the usual AWS
credentials/region are used.`;

type Out = (line: string) => void;

export interface DlqCliIo {
  out: Out;
  err: Out;
  sqs?: SQSClient;
  table?: Table;
  /** Where `purge` reads its confirmation (default process.stdin; not a terminal: no). */
  stdin?: Input;
  /** Long poll of each receive, seconds (default 1, so that an empty answer means an empty queue). */
  waitSeconds?: number;
}

interface Options {
  queue?: string;
  max?: string;
  force?: boolean;
  yes?: boolean;
}

/** Bad arguments: exit 2 with the message. */
class UsageError extends Error {}

/** `12s`, `5m`, `3h`, `2d`. */
const age = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
};

const line = (l: DeadLetter, now: number): string =>
  `  ${age(now - l.since)}  ${l.kind ?? '-'}  ${l.tenantId ?? '-'}  ${l.id ?? '-'}  ${l.reason.replace(/\s+/g, ' ')}`;

interface Run {
  sqs: SQSClient;
  opts: Options;
  io: DlqCliIo;
  /** What redrive checks tenants in. */
  table?: Table;
}

async function list({ sqs, opts, io }: Run, dlq: DeadLetterQueue): Promise<number> {
  const max = Number(opts.max ?? 100);
  if (!Number.isInteger(max) || max < 1) throw new UsageError('--max must be a whole number from 1');
  const letters: DeadLetter[] = [];
  try {
    for await (const page of readDeadLetters(sqs, dlq, { hideSeconds: 30, max, waitSeconds: io.waitSeconds })) letters.push(...page);
  } finally {
    await showAgain(sqs, dlq, letters);
  }
  const more = letters.length === max ? ` (the first ${max}; --max for more)` : '';
  io.out(`${dlq.queue} DLQ: ${letters.length} message(s)${more}`);
  const now = Date.now();
  for (const l of letters) io.out(line(l, now));
  return 0;
}

async function redrive({ sqs, opts, io, table }: Run, dlq: DeadLetterQueue): Promise<number> {
  // What fails again while this runs comes back as a new message: it waits for the next run.
  const started = Date.now();
  const tenantExists = async (tenantId: string) => Boolean(await getTenant(table!, tenantId));
  /** Left in the DLQ: shown again at the end. */
  const kept: DeadLetter[] = [];
  let moved = 0;
  let failed = 0;
  try {
    for await (const page of readDeadLetters(sqs, dlq, { hideSeconds: 300, waitSeconds: io.waitSeconds, before: started })) {
      for (const l of page) {
        const poison = await whyPoison(l, dlq, { tenantExists });
        if (poison && !opts.force) {
          kept.push(l);
          io.out(`skipped ${l.kind ?? '-'} ${l.tenantId ?? '-'} ${l.id ?? '-'}: can never succeed: ${poison}`);
          continue;
        }
        try {
          await moveBack(sqs, dlq, l);
          moved++;
        } catch (e) {
          failed++;
          kept.push(l);
          const why = isPermanentSendError(e) ? 'SQS refused it' : 'not sent';
          io.err(`kept ${l.kind ?? '-'} ${l.tenantId ?? '-'} ${l.id ?? '-'} in the DLQ: ${why}: ${(e as Error).message}`);
        }
      }
    }
  } finally {
    await showAgain(sqs, dlq, kept);
  }
  const poisoned = kept.length - failed;
  io.out(`${dlq.queue} DLQ: ${moved} sent back to the ${dlq.queue} queue, ${poisoned} skipped${poisoned ? ' (--force sends them anyway)' : ''}${failed ? `, ${failed} failed` : ''}`);
  return failed ? 1 : 0;
}

async function purge({ sqs, opts, io }: Run, dlq: DeadLetterQueue): Promise<number> {
  // Only what was there when counted (and confirmed): what arrives later stays.
  const started = Date.now();
  const n = await countDeadLetters(sqs, dlq);
  if (!n) {
    io.out(`${dlq.queue} DLQ: empty`);
    return 0;
  }
  if (!opts.yes) {
    const stdin = io.stdin ?? process.stdin;
    if (!stdin.isTTY) {
      io.err(`${dlq.queue} DLQ: not purged: no terminal to confirm at; add --yes to purge without asking`);
      return 1;
    }
    io.err(`delete every message of the ${dlq.queue} DLQ (${dlq.url}, about ${n})? [y/N]`);
    if (!/^y(es)?$/i.test((await readLine(stdin)).trim())) {
      io.err(`${dlq.queue} DLQ: not purged`);
      return 1;
    }
  }
  let deleted = 0;
  for await (const page of readDeadLetters(sqs, dlq, { hideSeconds: 300, waitSeconds: io.waitSeconds, before: started })) deleted += await deleteDeadLetters(sqs, dlq, page);
  io.out(`${dlq.queue} DLQ: purged, ${deleted} message(s) deleted`);
  return 0;
}

const COMMANDS: Record<string, (run: Run, dlq: DeadLetterQueue) => Promise<number>> = { list, redrive, purge };

/** The dead-letter queues the command works on: `--queue`'s, else every queue whose URL is set. */
async function deadLetterQueues(sqs: SQSClient, queue: string | undefined, io: DlqCliIo): Promise<DeadLetterQueue[]> {
  if (queue !== undefined && !QUEUE_NAMES.includes(queue as QueueName)) throw new UsageError(`--queue must be one of ${QUEUE_NAMES.join(', ')}`);
  const names = queue ? [queue as QueueName] : QUEUE_NAMES;
  const set = names.filter((q) => process.env[QUEUE_VARIABLES[q]]);
  if (!set.length) throw new UsageError(`${names.map((q) => QUEUE_VARIABLES[q]).join(', ')} not set (use --local for the local stack, or the stack outputs)`);
  for (const q of names.filter((n) => !set.includes(n))) io.err(`${q}: ${QUEUE_VARIABLES[q]} not set, skipped`);
  return Promise.all(set.map((q) => findDeadLetterQueue(sqs, q, process.env[QUEUE_VARIABLES[q]]!)));
}

/**
 * Runs the dead-letter CLI; returns the exit code (2: usage; 1: something not done). Exposed for tests.
 *
 * @example
 * await runDlqCli(['--local', 'list'], { out: console.log, err: console.error })
 */
export async function runDlqCli(argv: string[], io: DlqCliIo): Promise<number> {
  const args = localArgs(argv, io);
  if (!args) return 2;
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { queue: { type: 'string' }, max: { type: 'string' }, force: { type: 'boolean' }, yes: { type: 'boolean' } } });
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [name] = parsed.positionals;
  const command = parsed.positionals.length === 1 && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(USAGE);
    return 2;
  }
  const table = name === 'redrive' ? cliTable(io) : undefined;
  if (name === 'redrive' && !table) return 2;
  const run: Run = { sqs: io.sqs ?? new SQSClient({}), opts: parsed.values, io, table };
  try {
    let code = 0;
    for (const dlq of await deadLetterQueues(run.sqs, run.opts.queue, io)) code = Math.max(code, await command(run, dlq));
    return code;
  } catch (e) {
    io.err(e instanceof UsageError ? e.message : `error: ${(e as Error).message}`);
    return e instanceof UsageError ? 2 : 1;
  } finally {
    if (!io.sqs) run.sqs.destroy();
  }
}

if (require.main === module) {
  runDlqCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then((code) => {
    process.exitCode = code;
  });
}
