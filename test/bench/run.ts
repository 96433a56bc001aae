/**
 * `npm run bench`: shaping through the local stack (SQS server, DynamoDB Local, the DingTalk
 * simulator with 0-50 ms jitter, BENCH_POLLERS concurrent sender pollers, default 8). Prints figures against targets;
 * asserts nothing. BENCH_BURST (default 3000) scales the bursts down for a quick look;
 * BENCH_ONLY=a,f runs some scenarios only; BENCH_LOG_LEVEL=INFO shows the handlers' logs (silent by default).
 * Scenario a1 (a single sender and drain instance, as `npm start` runs by default) runs in a child
 * process with its own local stack.
 */
import { spawn } from 'node:child_process';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DingTalkClient } from '../../lib/dingtalk/client';
import { maxInWindow } from '../../lib/shaping/gcra';
import { countParked } from '../../lib/quota/parking';
import { reserveCalls } from '../../lib/quota/counter';
import type { NotifyRequest } from '../../lib/contracts/notifyMessage';
import { createTable } from '../../lib/store/table';
import { putTenant } from '../../lib/store/tenants';
import type { Tenant } from '../../lib/contracts/tenant';
import { syncApps } from '../../infra/local/dingtalkSimulator/local';
import { startLocalStack } from '../../infra/local/stack';
import { aTenant } from '../support/factories';
import { startDynamoProxy } from '../support/dynamoProxy';

const BURST = Number(process.env.BENCH_BURST ?? 3000);
const POLLERS = Number(process.env.BENCH_POLLERS ?? 8);
const ONLY = process.env.BENCH_ONLY?.split(',');
const runs = (scenario: string) => !ONLY || ONLY.includes(scenario);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};
const line = (label: string, value: string, target: string) => console.log(`  ${label.padEnd(46)} ${value.padEnd(18)} target ${target}`);

async function main(): Promise<void> {
  let proxy!: Awaited<ReturnType<typeof startDynamoProxy>>;
  const stack = await startLocalStack({
    port: 0,
    tableName: `bench-${process.pid}`,
    pollerConcurrency: POLLERS,
    senderMaxConcurrency: Math.max(POLLERS, Number(process.env.LOCAL_SENDER_MAX_CONCURRENCY ?? 10)),
    simulatorJitterMs: [0, 50],
    unparkEveryMs: 3_600_000,
    dynamoDbEndpoint: async (endpoint) => (proxy = await startDynamoProxy(endpoint)).url,
  });
  const sim = stack.simulator!;
  const table = createTable(stack.env.TABLE_NAME);
  const sqs = new SQSClient({});

  const tenantWith = async (over: Partial<Tenant>, users: string[]) => {
    const t = aTenant(over);
    await putTenant(table, t);
    await syncApps(sim, table);
    for (const u of users) sim.addUser(t.corpId, { userId: u });
    return t;
  };
  const notify = (t: Tenant, id: string, userIds: string[], over: Partial<NotifyRequest> = {}): NotifyRequest => ({
    version: 1, id, tenantId: t.tenantId, kind: 'notify', to: { userIds }, message: { title: `alert ${id}`, markdown: `### alert ${id}\n- service: payment-api` }, ...over,
  });
  const publish = async (msgs: NotifyRequest[]) => {
    const batches = [];
    for (let i = 0; i < msgs.length; i += 10) batches.push(msgs.slice(i, i + 10));
    for (let i = 0; i < batches.length; i += 20) {
      await Promise.all(batches.slice(i, i + 20).map((b) => sqs.send(new SendMessageBatchCommand({
        QueueUrl: stack.env.NOTIFY_QUEUE_URL, Entries: b.map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m), MessageGroupId: m.tenantId })),
      }))));
    }
  };
  const sends = (t: Tenant) => sim.calls.filter((c) => c.clientId === t.clientId && (c.api === 'batchSend' || c.api === 'groupSend'));
  const delivered = (t: Tenant) => sim.messages().filter((m) => m.robotCode === t.clientId).length;
  const waitFor = async (cond: () => boolean | Promise<boolean>, limitMs: number) => {
    const end = Date.now() + limitMs;
    while (!(await cond()) && Date.now() < end) await sleep(200);
  };
  const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  console.log(`dingtalk-bridge shaping benchmark: burst ${BURST}, ${POLLERS} sender pollers, simulator jitter 0-50 ms\n`);

  // a) + c): one Standard tenant (20 QPS per API), BURST notifications of distinct content.
  if (runs('a')) {
    const a = await tenantWith({ edition: 'standard' }, users('a', BURST));
    proxy.reset();
    const t0 = Date.now();
    await publish(users('a', BURST).map((u, i) => notify(a, `a-${i}`, [u])));
    await waitFor(() => delivered(a) >= BURST, BURST * 200);
    const drain = (Date.now() - t0) / 1000;
    const calls = sends(a).filter((c) => c.status === 200);
    const at = calls.map((c) => c.at).sort((x, y) => x - y);
    const rate = (calls.length - 1) / ((at[at.length - 1] - at[0]) / 1000);
    const ddb = proxy.total();
    console.log(`a) burst to one Standard tenant (ceiling 20 calls/s), ${POLLERS} sender pollers`);
    line('achieved calls/s / ceiling', `${rate.toFixed(2)} / 20 = ${(rate / 20).toFixed(3)}`, '>= 0.93 (0.952 with 50 ms jitter)');
    line('longest pause between two calls', `${Math.max(...at.slice(1).map((t, i) => t - at[i])).toFixed(0)} ms`, '-');
    line('over-limit calls seen by the simulator', String(sends(a).filter((c) => c.overLimit).length), '0');
    line('busiest 1000 ms window (calls)', String(maxInWindow(at)), '<= 20');
    line('drain time', `${drain.toFixed(1)} s`, `~${(BURST / 20).toFixed(0)} s at the ceiling`);
    line('delivered / sent', `${delivered(a)} / ${BURST}`, 'all, once');
    console.log('c) cost per notification (from a)');
    line('DingTalk robot calls per notification', (calls.length / BURST).toFixed(3), '1.000 (ideal)');
    line('token calls', String(sim.calls.filter((c) => c.clientId === a.clientId && c.api === 'token').length), '1');
    line('DynamoDB requests per notification', (ddb / BURST).toFixed(2), '<= 1.5 (moonshot 1.0)');
    console.log(`  DynamoDB requests by operation: ${[...proxy.counts].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }

  // a1) the same with one sender and one drain instance: a child process with its own stack.
  if (runs('a') && POLLERS > 1) {
    const child = spawn(process.execPath, ['--import', 'tsx', __filename], {
      env: { ...process.env, DINGTALK_API_URL: '', DINGTALK_OAPI_URL: '', BENCH_ONLY: 'a', BENCH_POLLERS: '1', LOCAL_SENDER_MAX_CONCURRENCY: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.on('exit', r));
    console.log(out.split('\n').filter((l) => !l.startsWith('dingtalk-bridge shaping')).join('\n').replace(/^a\)/m, 'a1)').trimEnd());
  }

  // a') the same on a busy machine: a CPU hog (a busy loop in another process) runs alongside.
  if (runs("a'")) {
    const n = Math.min(BURST, 1000);
    const h = await tenantWith({ edition: 'standard' }, users('h', n));
    const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    try {
      await publish(users('h', n).map((u, i) => notify(h, `h-${i}`, [u])));
      await waitFor(() => delivered(h) >= n, n * 300);
    } finally {
      hog.kill('SIGKILL');
    }
    const calls = sends(h).filter((c) => c.status === 200);
    const at = calls.map((c) => c.at).sort((x, y) => x - y);
    const rate = (calls.length - 1) / ((at[at.length - 1] - at[0]) / 1000);
    console.log(`a') ${n} notifications to one Standard tenant with a CPU hog alongside`);
    line('achieved calls/s / ceiling', `${rate.toFixed(2)} / 20 = ${(rate / 20).toFixed(3)}`, '>= 0.93');
    line('over-limit calls', String(sends(h).filter((c) => c.overLimit).length), '0');
  }

  // c) coalescing: identical content to many users goes out 20 users per call.
  if (runs('c')) {
    const n = Math.min(200, BURST);
    const c = await tenantWith({ edition: 'exclusive' }, users('c', n));
    const before = sends(c).length;
    await publish(users('c', n).map((u, i) => notify(c, `c-${i}`, [u], { message: { title: 'DB down', markdown: '### DB down\nsame page to everyone' } })));
    await waitFor(() => delivered(c) >= n, 120_000);
    line(`identical page to ${n} users (one each): robot calls`, String(sends(c).length - before), `${Math.ceil(n / 20)} (ideal, chunks of 20)`);
  }

  // b) the same burst on tenant A while tenant B sends one notification per second.
  if (runs('b')) {
    const a = await tenantWith({ edition: 'standard' }, users('a', BURST));
    const b = await tenantWith({ edition: 'standard' }, users('b', 600));
    const published = new Map<string, number>();
    await publish(users('a', BURST).map((u, i) => notify(a, `a-${i}`, [u])));
    let i = 0;
    const started = Date.now();
    const depth: number[] = [];
    while (delivered(a) < BURST && Date.now() - started < BURST * 200) {
      const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.env.NOTIFY_QUEUE_URL, AttributeNames: ['ApproximateNumberOfMessages'] }));
      depth.push(Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0));
      const id = `b${i++}`;
      published.set(id, Date.now());
      await publish([notify(b, `b-${id}`, [id])]);
      await sleep(1000);
    }
    await waitFor(() => delivered(b) >= published.size, 30_000);
    const latency = sends(b)
      .filter((x) => x.status === 200)
      .map((x) => {
        const who = ((x.body as { userIds?: string[] }).userIds ?? [])[0];
        return { at: (published.get(who) ?? NaN) - started, ms: x.at - (published.get(who) ?? NaN) };
      })
      .filter((x) => Number.isFinite(x.ms));
    const slowest = [...latency].sort((x, y) => y.ms - x.ms).slice(0, 3);
    console.log(`b) burst of ${BURST} on tenant A while tenant B sends 1 notification/s (${published.size} sent)`);
    line("B's queue-to-DingTalk latency p50", `${(pct(latency.map((x) => x.ms), 50) / 1000).toFixed(2)} s`, '-');
    line("B's queue-to-DingTalk latency p99", `${(pct(latency.map((x) => x.ms), 99) / 1000).toFixed(2)} s`, '<= 2 s');
    line("B's slowest pages (published at +s: latency)", slowest.map((x) => `+${(x.at / 1000).toFixed(0)}: ${(x.ms / 1000).toFixed(2)}`).join(', '), '-');
    line('notify queue visible messages (mean / max)', `${Math.round(depth.reduce((x, y) => x + y, 0) / Math.max(1, depth.length))} / ${Math.max(...depth)}`, '-');
    line('over-limit calls (A and B)', String(sends(a).concat(sends(b)).filter((x) => x.overLimit).length), '0');
  }

  // d) a tenant with 200 calls of quota left, sent 300 critical pages.
  if (runs('d')) {
    const d = await tenantWith({ edition: 'standard' }, users('d', 300));
    await reserveCalls(table, d.corpId, 9800, { quota: 10_000, severity: 'critical' });
    sim.setQuotaUsed(d.corpId, 9800);
    await publish(users('d', 300).map((u, i) => notify(d, `d-${i}`, [u], { severity: 'critical' })));
    await waitFor(async () => delivered(d) + (await countParked(table, d.corpId)) >= 300, 120_000);
    console.log('d) 200 calls of quota left, 300 critical pages');
    line('calls made', String(sends(d).filter((x) => x.status === 200).length), '200');
    line('messages parked', String(await countParked(table, d.corpId)), '100');
    line('calls past the quota (simulator)', String(sim.pastQuotaCount()), '0');
  }

  // e) side by side: a naive sender on the same burst (no limiter; on a QPS answer it waits 1 s and
  // tries again, as webhook bridges do), with as many concurrent senders as our pollers.
  if (runs('e')) {
    const e = await tenantWith({ edition: 'standard' }, users('e', BURST));
    const client = new DingTalkClient({ apiUrl: sim.url, oapiUrl: sim.oapiUrl });
    const token = await client.getAccessToken(e.clientId, e.clientSecret);
    if (token.kind !== 'ok') throw new Error(`naive sender: no token (${token.code})`);
    const queue = users('e', BURST);
    const t0 = Date.now();
    let throttled = 0;
    await Promise.all(
      Array.from({ length: POLLERS }, async () => {
        for (let u = queue.shift(); u; u = queue.shift()) {
          for (;;) {
            const r = await client.batchSend(token.data.accessToken, { robotCode: e.clientId, userIds: [u], msgKey: 'sampleText', msgParam: JSON.stringify({ content: `naive ${u}` }) });
            if (r.kind === 'ok') break;
            throttled++;
            await sleep(1000);
          }
        }
      }),
    );
    const drain = (Date.now() - t0) / 1000;
    console.log(`e) the same burst of ${BURST} from a naive sender (${POLLERS} concurrent, retry 1 s after a QPS answer)`);
    line('naive: over-limit calls (QPS answers)', String(sends(e).filter((x) => x.overLimit).length), 'ours: 0 (a)');
    line('naive: throttled answers retried', String(throttled), 'ours: 0');
    line('naive: drain time', `${drain.toFixed(1)} s`, 'ours: see a)');
  }

  // f) an Exclusive tenant (60 QPS), then 50 Standard tenants bursting at once.
  if (runs('f')) {
    const n = Math.min(BURST, 1800);
    const x = await tenantWith({ edition: 'exclusive' }, users('x', n));
    await publish(users('x', n).map((u, i) => notify(x, `x-${i}`, [u])));
    await waitFor(() => delivered(x) >= n, n * 100);
    const calls = sends(x).filter((c) => c.status === 200);
    const at = calls.map((c) => c.at).sort((p, q) => p - q);
    const rate = (calls.length - 1) / ((at[at.length - 1] - at[0]) / 1000);
    console.log(`f) an Exclusive tenant (ceiling 60 calls/s), ${n} notifications; then 50 Standard tenants at once`);
    line('achieved calls/s / ceiling', `${rate.toFixed(2)} / 60 = ${(rate / 60).toFixed(3)}`, '>= 0.93');
    line('longest pause between two calls', `${Math.max(...at.slice(1).map((t, i) => t - at[i])).toFixed(0)} ms`, '-');
    line('over-limit calls', String(sends(x).filter((c) => c.overLimit).length), '0');
    const many: Tenant[] = [];
    for (let k = 0; k < 50; k++) many.push(await tenantWith({ edition: 'standard' }, users(`m${k}-`, 20)));
    await publish(many.flatMap((t, k) => users(`m${k}-`, 20).map((u, i) => notify(t, `m${k}-${i}`, [u]))));
    await waitFor(() => many.every((t) => delivered(t) >= 20), 300_000);
    line('50 tenants x 20: delivered', String(many.reduce((sum, t) => sum + delivered(t), 0)), '1000');
    line('50 tenants: over-limit calls', String(many.flatMap((t) => sends(t)).filter((c) => c.overLimit).length), '0');
  }

  await proxy.close();
  await stack.stop();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
