import type { DingTalkResult } from '../../lib/dingtalk/errors';
import type { CallGate, GateCall } from '../../lib/dingtalk/callGate';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { startPoller, toSqsRecord, type Poller } from '../../infra/local/poller';
import { readDeadLetter } from '../../lib/contracts/deadLetter';
import { QUEUES } from '../../lib/contracts/deployment';
import type { Outcome } from '../../lib/delivery/rule';
import type { Table } from '../../lib/store/table';
import type { Tenant } from '../../lib/contracts/tenant';
import { aNotify, aTenant, lambdaContext } from './factories';

export { aNotify };
import { startLocalAws, type LocalAws } from './localAws';
import { startSimulator, type Simulator } from '../../infra/local/dingtalkSimulator/simulator';

/**
 * The sender on the real path: DynamoDB Local + the SQS server (notify queue and its DLQ) + the
 * DingTalk simulator, with functions/sender imported after the environment points at them.
 * `deliver()` receives what is on the notify queue and invokes the handler with Lambda-shaped SQS
 * events, deleting what it reports as processed, until the queue is empty: retries (visibility 0
 * in tests) come round again with a higher ApproximateReceiveCount, as with Lambda's event source.
 */

export type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface World {
  aws: LocalAws;
  sim: Simulator;
  sqs: SQSClient;
  table: Table;
  handler: Handler;
  /** A tenant in DynamoDB and its app, users and groups in the simulator's organisation. */
  aTenantWith(opts?: { users?: Array<{ userId: string; mobile?: string }>; groups?: Array<{ openConversationId: string; coolAppCode?: string; disbanded?: boolean }>; monthlyQuota?: number; tenant?: Partial<Tenant>; simulatorQps?: number }): Promise<Tenant>;
  /** Puts a message (any JSON, valid or not) on the notify queue as Flashduty does. */
  send(body: unknown): Promise<string>;
  /** Receives up to 10 messages once (short poll) as Lambda records; [] when the queue is empty. */
  receive(): Promise<SQSRecord[]>;
  /** Invokes the handler on `records`, deletes what it did not report failed; returns the failures. */
  invoke(records: SQSRecord[]): Promise<string[]>;
  /** Runs the sender until the notify queue is empty (or `maxRounds` invocations). */
  deliver(maxRounds?: number): Promise<{ invocations: number; receiveCounts: number[] }>;
  /** Everything on the dead-letter queue, removed from it. */
  takeDeadLetters(): Promise<Array<{ body: string; reason: string; notifyId?: string }>>;
  outcome(tenantId: string, id: string): Promise<Outcome>;
  /** The local pollers (as `npm start` runs them) invoking the sender on the notify queue and the drain on the drain queue. */
  startPoller(): Pick<Poller, 'stop'>;
  /** Runs the drain function on the drain requests waiting (lanes' backlogs) until there are none; how many it ran. */
  drain(): Promise<number>;
  /** Waits until `check` returns a value (not undefined/false), polling every 50 ms. */
  until<T>(check: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  calls(api: string, clientId?: string): ReturnType<Simulator['calls']['filter']>;
  stop(): Promise<void>;
}

export async function startWorld(env: Record<string, string> = {}): Promise<World> {
  const aws = await startLocalAws();
  const sim = await startSimulator();
  Object.assign(process.env, {
    DINGTALK_API_URL: sim.url,
    DINGTALK_OAPI_URL: sim.oapiUrl,
    NOTIFY_DLQ_URL: aws.notifyDlqUrl,
    NOTIFY_RETRY_BASE_SECONDS: '0',
    DINGTALK_TIMEOUT_MS: '1000',
    ...env,
  });
  // Only now: the handler reads its configuration and creates its clients at module scope.
  const { handler } = (await import('../../functions/sender')) as unknown as { handler: Handler };
  const drainHandler = ((await import('../../functions/drain')) as unknown as { handler: Handler }).handler;
  const { createTable } = await import('../../lib/store/table');
  const { putTenant } = await import('../../lib/store/tenants');
  const { readOutcome } = await import('../../lib/delivery/outcomes');
  const table = createTable(aws.tableName);
  const sqs = new SQSClient({});
  const queueArn = `arn:aws:sqs:us-east-1:000000000000:${aws.notifyQueueUrl.split('/').pop()}`;
  const drainArn = `arn:aws:sqs:us-east-1:000000000000:${aws.drainQueueUrl.split('/').pop()}`;

  const receiveFrom = async (queueUrl: string): Promise<Message[]> =>
    (
      await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
      )
    ).Messages ?? [];

  const world: World = {
    aws,
    sim,
    sqs,
    table,
    handler,
    async aTenantWith(opts = {}) {
      const tenant = aTenant({ ...opts.tenant });
      await putTenant(table, tenant);
      sim.addApp({ clientId: tenant.clientId, clientSecret: tenant.clientSecret, corpId: tenant.corpId, qps: opts.simulatorQps ?? 1000, monthlyQuota: opts.monthlyQuota ?? 100_000 });
      for (const u of opts.users ?? [{ userId: 'user1' }]) sim.addUser(tenant.corpId, u);
      for (const g of opts.groups ?? []) sim.addGroup(tenant.corpId, g);
      return tenant;
    },
    async send(body) {
      // As the contract asks publishers: the message group is the tenant (SQS fair queues).
      const groupId = typeof body === 'object' && body !== null && typeof (body as { tenantId?: unknown }).tenantId === 'string' ? (body as { tenantId: string }).tenantId : undefined;
      const r = await sqs.send(new SendMessageCommand({ QueueUrl: aws.notifyQueueUrl, MessageBody: typeof body === 'string' ? body : JSON.stringify(body), ...(groupId ? { MessageGroupId: groupId } : {}) }));
      return r.MessageId!;
    },
    async receive() {
      return (await receiveFrom(aws.notifyQueueUrl)).map((m) => toSqsRecord(m, queueArn));
    },
    async invoke(records) {
      const response = await handler({ Records: records }, { ...lambdaContext, functionName: 'sender' });
      const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      for (const r of records) {
        if (!failed.has(r.messageId)) await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.notifyQueueUrl, ReceiptHandle: r.receiptHandle }));
      }
      return [...failed];
    },
    async deliver(maxRounds = 20) {
      const receiveCounts: number[] = [];
      let invocations = 0;
      for (let empty = 0; invocations < maxRounds && empty < 3; ) {
        const records = await world.receive();
        if (!records.length) {
          empty++;
          await new Promise((r) => setTimeout(r, 30));
          continue;
        }
        empty = 0;
        invocations++;
        receiveCounts.push(...records.map((r) => Number(r.attributes.ApproximateReceiveCount)));
        await world.invoke(records);
      }
      // Backlogs left by concurrent invocations (lanes): drained as the drain function would.
      if (await world.drain()) return world.deliver(maxRounds);
      return { invocations, receiveCounts };
    },
    async drain() {
      let ran = 0;
      for (let ms = await receiveFrom(aws.drainQueueUrl); ms.length; ms = await receiveFrom(aws.drainQueueUrl)) {
        for (const m of ms) {
          await drainHandler({ Records: [toSqsRecord(m, drainArn)] }, { ...lambdaContext, functionName: 'drain' });
          await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.drainQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
          ran++;
        }
      }
      return ran;
    },
    async takeDeadLetters() {
      const out: Array<{ body: string; reason: string; notifyId?: string }> = [];
      for (let empty = 0; empty < 2; ) {
        const ms = await receiveFrom(aws.notifyDlqUrl);
        if (!ms.length) {
          empty++;
          await new Promise((r) => setTimeout(r, 30));
          continue;
        }
        for (const m of ms) {
          const dead = readDeadLetter(m.MessageAttributes);
          out.push({ body: m.Body ?? '', reason: dead.reason ?? '', notifyId: dead.messageId });
          await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.notifyDlqUrl, ReceiptHandle: m.ReceiptHandle! }));
        }
      }
      return out;
    },
    outcome: (tenantId, id) => readOutcome(table, tenantId, id),
    startPoller: () => {
      const pollers = [
        startPoller({
          sqs,
          queueUrl: aws.notifyQueueUrl,
          handler,
          functionName: 'sender',
          batchSize: QUEUES.notify.batchSize,
          maxBatchingWindowSeconds: QUEUES.notify.maxBatchingWindowSeconds,
          timeoutSeconds: QUEUES.notify.consumerTimeoutSeconds,
          waitTimeSeconds: 1,
          concurrency: 2,
        }),
        startPoller({
          sqs,
          queueUrl: aws.drainQueueUrl,
          handler: drainHandler,
          functionName: 'drain',
          batchSize: QUEUES.drain.batchSize,
          maxBatchingWindowSeconds: QUEUES.drain.maxBatchingWindowSeconds,
          timeoutSeconds: QUEUES.drain.consumerTimeoutSeconds,
          waitTimeSeconds: 1,
          concurrency: 1,
        }),
      ];
      return { stop: async () => void (await Promise.all(pollers.map((p) => p.stop()))) };
    },
    async until(check, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await check();
        if (v !== undefined && v !== false) return v as never;
        if (Date.now() > deadline) throw new Error('timed out waiting');
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    calls: (api, clientId) => sim.calls.filter((c) => c.api === api && (clientId === undefined || c.clientId === clientId)),
    async stop() {
      sqs.destroy();
      table.doc.destroy();
      await sim.close();
      await aws.stop();
    },
  };
  return world;
}

/** Outcome statuses by recipient, e.g. `{ 'user u1': 'sent', 'group cid': 'failed' }`. */
export function statuses(o: Outcome): Record<string, string> {
  return Object.fromEntries(o.recipients.map((r) => [`${r.channel} ${r.to}`, r.status]));
}

/**
 * The world's lifecycle for one test file: started once before the tests, stopped after them,
 * and a clean slate before each test (the simulator reset; without a poller, anything a previous
 * test left on the queue delivered and the dead letters drained). With `poller`, the sender runs
 * continuously on the notify queue, as under `npm start`; `env` adds to the functions' environment
 * (e.g. PUBLIC_URL).
 *
 * Returns a stand-in for the world that forwards to it once started, so a file reads `w.sim`,
 * `w.deliver()` as with a plain variable.
 *
 * @example
 * const w = useWorld();
 * it('...', async () => { await w.send(aNotify(await w.aTenantWith())); await w.deliver(); });
 */
export function useWorld(opts: { poller?: boolean; env?: Record<string, string> } = {}): World {
  let world: World | undefined;
  let poller: { stop(): Promise<void> } | undefined;
  beforeAll(async () => {
    world = await startWorld(opts.env);
    if (opts.poller) poller = world.startPoller();
  }, 120_000);
  afterAll(async () => {
    await poller?.stop();
    await world?.stop();
  });
  beforeEach(async () => {
    world!.sim.reset();
    if (opts.poller) return;
    await world!.deliver();
    await world!.takeDeadLetters();
  });
  return new Proxy({} as World, {
    get: (_, key) => {
      if (!world) throw new Error('the world is not started yet: use it inside a test or hook');
      return world[key as keyof World];
    },
  });
}

/** A gate that records what passed through it; `refuse` decides per call. */
export function aRecordingGate(refuse: (call: GateCall) => Error | undefined = () => undefined) {
  const before: GateCall[] = [];
  const after: Array<[GateCall, DingTalkResult<unknown>]> = [];
  const gate: CallGate = {
    before: async (call) => {
      before.push(call);
      const e = refuse(call);
      if (e) throw e;
    },
    after: async (call, result) => void after.push([call, result]),
  };
  return { gate, before, after };
}
