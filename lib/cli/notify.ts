import { SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { readOutcome } from '../delivery/outcomes';
import { parseNotifyMessage } from '../contracts/notifyMessage';
import { sendJson } from '../queue/sqs';
import type { Table } from '../store/table';
import { localArgs, cliTable } from './stackEnv';
import type { EnvName } from '../contracts/env';

/** The environment contract's name of the notify queue. */
const QUEUE_VARIABLE: EnvName = 'NOTIFY_QUEUE_URL';

const USAGE = `usage: npm run notify -- [--local] <message.json>
       npm run notify -- [--local] status <tenantId> <id>
  <message.json>          validate a notify queue message (contract v1) and send it to the notify queue
  status <tenantId> <id>  show what became of a message: its state and every recipient's outcome
  --local                 use the local stack started by "npm start" (.local/stack.env)
Otherwise NOTIFY_QUEUE_URL (send) or TABLE_NAME (status) and the usual AWS credentials/region are used.`;

type Out = (line: string) => void;

export interface NotifyCliIo {
  out: Out;
  err: Out;
  sqs?: SQSClient;
  table?: Table;
}

async function send(file: string, io: NotifyCliIo): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    io.err(`cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
  const r = parseNotifyMessage(text);
  if (!r.ok) {
    io.err(`${file}: not a valid notify message`);
    for (const issue of r.issues) io.err(`  - ${issue}`);
    return 2;
  }
  const queueUrl = process.env[QUEUE_VARIABLE];
  if (!queueUrl) {
    io.err('NOTIFY_QUEUE_URL is not set (use --local for the local stack, or the stack output NotifyQueueUrl)');
    return 2;
  }
  const sqs = io.sqs ?? new SQSClient({});
  try {
    // The file as written: what Flashduty would send.
    const messageId = await sendJson(sqs, queueUrl, JSON.parse(text), { groupId: r.message.tenantId });
    io.out(`queued ${r.message.kind} ${r.message.id} for tenant ${r.message.tenantId} (SQS MessageId ${messageId})`);
    return 0;
  } finally {
    if (!io.sqs) sqs.destroy();
  }
}

async function status(tenantId: string | undefined, id: string | undefined, io: NotifyCliIo): Promise<number> {
  if (!tenantId || !id) {
    io.err(USAGE);
    return 2;
  }
  const table = cliTable(io);
  if (!table) return 2;
  const o = await readOutcome(table, tenantId, id);
  if (!o.message && !o.recipients.length) {
    io.err(`nothing recorded for ${tenantId}/${id} (not processed yet, or older than 30 days)`);
    return 1;
  }
  io.out(JSON.stringify(o, null, 2));
  return 0;
}

/**
 * Runs the notify CLI; returns the exit code (2: usage or invalid message). Exposed for tests.
 *
 * @example
 * await runNotifyCli(['--local', 'test/fixtures/notify-users.json'], { out: console.log, err: console.error })
 */
export async function runNotifyCli(argv: string[], io: NotifyCliIo): Promise<number> {
  const args = localArgs(argv, io);
  if (!args) return 2;
  try {
    if (args[0] === 'status') return await status(args[1], args[2], io);
    if (args.length !== 1 || args[0].startsWith('-')) {
      io.err(USAGE);
      return 2;
    }
    return await send(args[0], io);
  } catch (e) {
    io.err(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  runNotifyCli(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) }).then((code) => {
    process.exitCode = code;
  });
}
