/**
 * `npm run drill`: the delivery rule under faults (docs/DESIGN.md, "The delivery rule"). Runs the
 * real sender handler in worker processes (killed with SIGKILL at random, mid-batch, and restarted)
 * on DynamoDB Local behind a proxy that throttles a share of requests, the SQS server, and the
 * DingTalk simulator injecting faults by rate: 5xx, hangs that still deliver, deliver-then-5xx and
 * connection resets. Then it accounts for every recipient of every notification and prints:
 * delivered, failed (visible in the DLQ), parked, unknown, lost silently, duplicates (split by
 * whether DingTalk's earlier answer was ambiguous), and over-limit calls. Exits 1 when anything was
 * lost silently, sent twice although DingTalk had answered, or sent over the QPS limit.
 *
 * DRILL_NOTIFICATIONS (default 400, 5 recipients each), DRILL_WORKERS (3), DRILL_KILL_SECONDS (90).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { NotifyRequest } from '../../lib/contracts/notifyMessage';
import type { Tenant } from '../../lib/contracts/tenant';
import { readOutcome } from '../../lib/delivery/outcomes';
import { createTable } from '../../lib/store/table';
import { putTenant } from '../../lib/store/tenants';
import { startSimulator, type FaultKind } from '../../infra/local/dingtalkSimulator/simulator';
import { freePort, localEnv, provision, startDynamoDbLocal, startSqsLocal } from '../../infra/local/services';
import { backlogPage } from '../../lib/lanes/backlog';
import { sweepLanes } from '../../lib/lanes/sweep';
import { startDynamoProxy } from '../support/dynamoProxy';
import { aTenant } from '../support/factories';

const NOTIFICATIONS = Number(process.env.DRILL_NOTIFICATIONS ?? 400);
const WORKERS = Number(process.env.DRILL_WORKERS ?? 3);
const KILL_FOR_MS = Number(process.env.DRILL_KILL_SECONDS ?? 90) * 1000;
const TENANTS = 4;
const USERS_PER_NOTIFICATION = 3;
const GROUPS_PER_NOTIFICATION = 2;
const FAULT_RATES: Partial<Record<FaultKind, number>> = { '5xx': 0.1, hangThenDeliver: 0.03, deliverThen5xx: 0.02, reset: 0.01, deliverThenReset: 0.01 };
const DYNAMODB_THROTTLE_RATE = 0.05;
/** Shorter than the deployed 360 s so killed batches come back within the drill. */
const NOTIFY_VISIBILITY_SECONDS = 90;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(`[drill ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const [dynamo, sqsServer] = await Promise.all([startDynamoDbLocal(await freePort()), startSqsLocal(await freePort())]);
  const proxy = await startDynamoProxy(dynamo.endpoint, { throttleRate: DYNAMODB_THROTTLE_RATE });
  const queues = await provision({ dynamodb: dynamo.endpoint, sqs: sqsServer.endpoint }, `drill-${process.pid}`, { notify: NOTIFY_VISIBILITY_SECONDS });
  // This process reads and writes DynamoDB Local directly; the workers go through the throttling proxy.
  Object.assign(process.env, localEnv({ dynamodb: dynamo.endpoint, sqs: sqsServer.endpoint }, queues));
  const sim = await startSimulator({ port: 0, jitterMs: [0, 30] });
  const table = createTable(queues.tableName);
  const sqs = new SQSClient({});

  // Tenants: Standard edition (20 QPS per API), 30 users and 10 groups each.
  const tenants: Tenant[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const t = aTenant({ edition: 'standard' });
    await putTenant(table, t);
    sim.addApp({ clientId: t.clientId, clientSecret: t.clientSecret, corpId: t.corpId, qps: 20, monthlyQuota: 1_000_000 });
    for (let u = 0; u < 30; u++) sim.addUser(t.corpId, { userId: `u${u}` });
    for (let g = 0; g < 10; g++) sim.addGroup(t.corpId, { openConversationId: `cid${g}==` });
    tenants.push(t);
  }
  const notifications: NotifyRequest[] = Array.from({ length: NOTIFICATIONS }, (_, n) => {
    const t = tenants[n % TENANTS];
    const id = `drill-${n}`;
    return {
      version: 1, id, tenantId: t.tenantId, kind: 'notify', severity: 'critical',
      to: {
        userIds: Array.from({ length: USERS_PER_NOTIFICATION }, (_, k) => `u${(n + k * 7) % 30}`),
        openConversationIds: Array.from({ length: GROUPS_PER_NOTIFICATION }, (_, k) => `cid${(n + k * 3) % 10}==`),
      },
      message: { title: `[P1] ${id}`, markdown: `### [P1] ${id}-end\n- drill` },
    };
  });

  // Faults from here on.
  sim.setFaultRates({ apis: ['batchSend', 'groupSend'], rates: FAULT_RATES });
  const workerEnv = {
    ...process.env,
    ...localEnv({ dynamodb: proxy.url, sqs: sqsServer.endpoint }, queues),
    DINGTALK_API_URL: sim.url,
    DINGTALK_OAPI_URL: sim.oapiUrl,
    DINGTALK_TIMEOUT_MS: '1500',
    NOTIFY_RETRY_BASE_SECONDS: '1',
    LOG_LEVEL: 'SILENT',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const workers = new Set<ChildProcess>();
  const spawnWorker = () => {
    const w = fork(join(__dirname, 'worker.ts'), [], { env: workerEnv, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    workers.add(w);
    w.once('exit', () => workers.delete(w));
    return w;
  };
  for (let i = 0; i < WORKERS; i++) spawnWorker();

  log(`${NOTIFICATIONS} notifications x ${USERS_PER_NOTIFICATION + GROUPS_PER_NOTIFICATION} recipients over ${TENANTS} tenants; ${WORKERS} workers`);
  for (let i = 0; i < notifications.length; i += 10) {
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queues.notifyQueueUrl, Entries: notifications.slice(i, i + 10).map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })) }));
  }

  // Kill a random worker every 5-15 s for a while, and start a new one in its place.
  let kills = 0;
  const killUntil = Date.now() + KILL_FOR_MS;
  const killer = (async () => {
    while (Date.now() < killUntil) {
      await sleep(5000 + Math.random() * 10_000);
      const victim = [...workers][Math.floor(Math.random() * workers.size)];
      if (!victim) continue;
      victim.kill('SIGKILL');
      kills++;
      spawnWorker();
    }
  })();

  // The sweep of functions/unpark, as the local stack runs it (every 15 s): drains for the backlogs of killed lane holders.
  const sweeper = setInterval(() => void sweepLanes({ table, sqs, drainQueueUrl: queues.drainQueueUrl }).catch(() => undefined), 15_000);

  // Until the notify queue and every backlog have been empty (visible, in flight and delayed) for 10 s.
  const started = Date.now();
  let quiet = 0;
  while (quiet < 5 && Date.now() - started < 15 * 60_000) {
    await sleep(2000);
    const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.notifyQueueUrl, AttributeNames: ['All'] }))).Attributes ?? {};
    const backlogs = (await Promise.all(tenants.map((t) => backlogPage(table, t.clientId, 1000)))).reduce((n, p) => n + p.length, 0);
    const pending = backlogs + Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
    quiet = pending === 0 && Date.now() > killUntil ? quiet + 1 : 0;
    if ((Date.now() - started) % 20_000 < 2000) log(`queue: ${pending} message(s) pending; ${sim.messages().length} deliveries so far; ${kills} kills`);
  }
  await killer;
  clearInterval(sweeper);
  for (const w of workers) w.kill('SIGKILL');
  const elapsed = (Date.now() - started) / 1000;

  // What reached the DLQ, by message id.
  const dead = new Map<string, string>();
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.notifyDlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
    if (!r.Messages?.length) break;
    for (const m of r.Messages) {
      const id = m.MessageAttributes?.messageId?.StringValue ?? (JSON.parse(m.Body ?? '{}') as { id?: string }).id ?? '?';
      dead.set(id, m.MessageAttributes?.reason?.StringValue ?? '(redriven by SQS after maxReceiveCount, no reason attribute)');
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queues.notifyDlqUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }

  // Every delivery DingTalk received, by notification and recipient, in order.
  const deliveries = new Map<string, boolean[]>(); // `${id}|${recipient}` -> answerLost per delivery
  for (const m of sim.messages()) {
    const id = /(drill-\d+)-end/.exec(JSON.stringify(m.msgParam))?.[1];
    if (!id) continue;
    for (const to of m.api === 'batchSend' ? m.to.split(',') : [m.to]) {
      const key = `${id}|${to}`;
      deliveries.set(key, [...(deliveries.get(key) ?? []), m.answerLost === true]);
    }
  }

  const tally = { recipients: 0, delivered: 0, failedVisible: 0, parked: 0, unknown: 0, lostSilently: 0, duplicates: 0, duplicatesAfterAmbiguous: 0, duplicatesWhereAnswered: 0, markedPossibleDuplicate: 0 };
  const lost: string[] = [];
  for (const n of notifications) {
    const outcome = await readOutcome(table, n.tenantId, n.id);
    const records = new Map(outcome.recipients.map((r) => [`${r.channel}|${r.to}`, r]));
    const recipients = [...(n.to.userIds ?? []).map((u) => ['user', u]), ...(n.to.openConversationIds ?? []).map((g) => ['group', g])];
    for (const [channel, to] of recipients) {
      tally.recipients++;
      const seen = deliveries.get(`${n.id}|${to}`) ?? [];
      const rec = records.get(`${channel}|${to}`);
      if (rec?.possibleDuplicate) tally.markedPossibleDuplicate++;
      if (seen.length > 0) {
        tally.delivered++;
        if (seen.length > 1) {
          tally.duplicates++;
          // Ambiguous: an earlier delivery's answer never reached the bridge, or the bridge marked it
          // (its attempt was killed mid-call, or its record of the answer could not be written).
          if (seen.slice(0, -1).some(Boolean) || rec?.possibleDuplicate) tally.duplicatesAfterAmbiguous++;
          else tally.duplicatesWhereAnswered++;
        }
      } else if (dead.has(n.id)) tally.failedVisible++;
      else if (outcome.message?.state === 'parked') tally.parked++;
      else if (rec?.status === 'unknown') tally.unknown++;
      else {
        tally.lostSilently++;
        lost.push(`${n.id} ${channel} ${to}: record ${rec?.status ?? 'none'}, message ${outcome.message?.state ?? 'none'}`);
      }
    }
  }

  const faults = new Map<string, number>();
  for (const c of sim.calls) if (c.fault) faults.set(c.fault, (faults.get(c.fault) ?? 0) + 1);
  const robotCalls = sim.calls.filter((c) => c.api === 'batchSend' || c.api === 'groupSend').length;
  const line = (label: string, value: string | number, target = '') => console.log(`  ${label.padEnd(52)} ${String(value).padEnd(10)} ${target}`);
  console.log(`\ndingtalk-bridge fault drill: ${tally.recipients} recipients, ${NOTIFICATIONS} notifications, ${TENANTS} tenants, ${elapsed.toFixed(0)} s`);
  console.log(`  faults: ${robotCalls} robot calls, ${[...faults].map(([k, v]) => `${k} ${v}`).join(', ')}; DynamoDB throttled ${proxy.throttled()} of ${proxy.total()} requests; ${kills} workers killed mid-run`);
  line('delivered', tally.delivered);
  line('failed, visible (notify DLQ with the reason)', tally.failedVisible);
  line('parked', tally.parked);
  line('unknown', tally.unknown);
  line('lost silently', tally.lostSilently, 'target 0');
  line('duplicates after an ambiguous answer (marked)', tally.duplicatesAfterAmbiguous, 'a duplicate beats a loss');
  line('duplicates where DingTalk had answered', tally.duplicatesWhereAnswered, 'target 0');
  line('records marked possibleDuplicate', tally.markedPossibleDuplicate);
  line('over-limit calls (strict 1 s window)', sim.overLimitCount(), 'target 0');
  for (const l of lost.slice(0, 10)) console.log(`  lost: ${l}`);
  for (const [id, reason] of [...dead].slice(0, 5)) console.log(`  dead-lettered: ${id}: ${reason.slice(0, 160)}`);

  await sim.close();
  await proxy.close();
  await Promise.all([dynamo.stop(), sqsServer.stop()]);
  process.exit(tally.lostSilently || tally.duplicatesWhereAnswered || sim.overLimitCount() ? 1 : 0);
}

main().catch((e) => {
  console.error(`drill failed: ${(e as Error).stack}`);
  process.exit(2);
});
