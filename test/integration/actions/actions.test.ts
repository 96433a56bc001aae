import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { seedFlashduty } from '../../../infra/local/flashdutySimulator/local';
import { startFlashdutySimulator, type FlashdutySimulator } from '../../../infra/local/flashdutySimulator/simulator';
import { toSqsRecord } from '../../../infra/local/poller';
import type { IncidentAction } from '../../../lib/contracts/actionsMessage';
import { readDeadLetter } from '../../../lib/contracts/deadLetter';
import type { Tenant } from '../../../lib/contracts/tenant';
import type { Table } from '../../../lib/store/table';
import { aTenant, lambdaContext } from '../../support/factories';
import { startLocalAws, type LocalAws } from '../../support/localAws';

/**
 * The actions function end to end (docs/two-way.md, "Actions to Flashduty"): actions put on the
 * local actions queue, the handler invoked on what it receives as Lambda's event source would,
 * the outbound queue, the notify queue and the actions DLQ read back, Flashduty played by its
 * simulator (docs/flashduty-api.md).
 */

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

let aws: LocalAws;
let fd: FlashdutySimulator;
let handler: Handler;
let table: Table;
let sqs: SQSClient;
let putTenant: (table: Table, input: unknown) => Promise<Tenant>;
const ACCOUNT = 2451002751131;
const APP_KEY = 'fd-local-app-key';
const INCIDENT = '69da451ef77b1b51f40e83ee'; // Triggered in seed.json
const MEMBER = '2476444212131';

beforeAll(async () => {
  aws = await startLocalAws();
  fd = await startFlashdutySimulator({ port: 0 });
  Object.assign(process.env, { FLASHDUTY_API_URL: fd.url, ACTIONS_RETRY_BASE_SECONDS: '0' });
  ({ handler } = (await import('../../../functions/actions')) as unknown as { handler: Handler });
  ({ putTenant } = await import('../../../lib/store/tenants'));
  const { createTable } = await import('../../../lib/store/table');
  table = createTable(aws.tableName);
  sqs = new SQSClient({});
}, 120_000);

afterAll(async () => {
  await fd?.close();
  sqs?.destroy();
  table?.doc.destroy();
  await aws?.stop();
});

beforeEach(async () => {
  fd.reset();
  seedFlashduty(fd);
  for (const q of [aws.actionsQueueUrl, aws.actionsDlqUrl, aws.flashdutyActionsQueueUrl, aws.notifyQueueUrl]) await take(q);
});

const anAction = (tenantId: string, over: Partial<IncidentAction> = {}): IncidentAction => ({
  version: 1,
  id: randomBytes(20).toString('hex'),
  tenantId,
  at: new Date().toISOString(),
  incidentId: INCIDENT,
  action: 'ack',
  by: { dingtalkUserId: 'u2', memberId: MEMBER, name: 'Li Lei' },
  ...over,
});

const send = async (body: unknown): Promise<void> =>
  void (await sqs.send(new SendMessageCommand({ QueueUrl: aws.actionsQueueUrl, MessageBody: typeof body === 'string' ? body : JSON.stringify(body) })));

const receive = async (queueUrl: string): Promise<Message[]> =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }))).Messages ?? [];

/** Everything on a queue, removed from it. */
async function take(queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let got = await receive(queueUrl); got.length; got = await receive(queueUrl)) {
    for (const m of got) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    out.push(...got);
  }
  return out;
}

/** Runs the actions function until its queue is empty, as Lambda's event source does; the receive counts seen. */
async function runActions(maxRounds = 20): Promise<number[]> {
  const counts: number[] = [];
  const arn = `arn:aws:sqs:us-east-1:000000000000:${aws.actionsQueueUrl.split('/').pop()}`;
  for (let rounds = 0, empty = 0; rounds < maxRounds && empty < 3; ) {
    const records = (await receive(aws.actionsQueueUrl)).map((m) => toSqsRecord(m, arn));
    if (!records.length) {
      empty++;
      await new Promise((r) => setTimeout(r, 30));
      continue;
    }
    empty = 0;
    rounds++;
    counts.push(...records.map((r) => Number(r.attributes.ApproximateReceiveCount)));
    const res = await handler({ Records: records }, { ...lambdaContext, functionName: 'actions' });
    const failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    for (const r of records) if (!failed.has(r.messageId)) await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.actionsQueueUrl, ReceiptHandle: r.receiptHandle }));
  }
  return counts;
}

/** Runs `fn`, capturing what it writes to stdout, stderr and the console (the logger's lines). */
async function captureLogs<T>(fn: () => Promise<T>): Promise<{ result: T; logs: string[] }> {
  const logs: string[] = [];
  const record = (...args: unknown[]) => void logs.push(...args.map((a) => (typeof a === 'string' ? a : Buffer.isBuffer(a) ? a.toString('utf8') : JSON.stringify(a))).join(' ').split('\n').filter(Boolean));
  const spies = [
    ...[process.stdout, process.stderr].map((stream) => jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown) => (record(chunk), true)) as never)),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation(record)),
  ];
  try {
    return { result: await fn(), logs };
  } finally {
    for (const sp of spies) sp.mockRestore();
  }
}

const writes = () => fd.calls.filter((c) => c.api !== 'info' && c.api !== 'personInfos');

describe('actionsVia "queue" (the default)', () => {
  it('puts the message, as it came, on the outbound queue exactly once, even when the action is delivered twice', async () => {
    const t = await putTenant(table, aTenant());
    const action = anAction(t.tenantId);
    const body = JSON.stringify(action);
    await send(body);
    await runActions();
    await send(body); // SQS redelivers (or the callback queued it again): the same id
    await runActions();
    const out = await take(aws.flashdutyActionsQueueUrl);
    expect(out.map((m) => m.Body)).toEqual([body]);
    expect(fd.calls).toEqual([]);
    expect(await take(aws.actionsDlqUrl)).toEqual([]);
  });

  it('forwards a member.link to the outbound queue', async () => {
    const t = await putTenant(table, aTenant({ flashdutyAppKey: APP_KEY, actionsVia: 'api' }));
    const link = { version: 1, id: 'link-1', tenantId: t.tenantId, at: new Date().toISOString(), action: 'member.link', by: { dingtalkUserId: 'u2', memberId: MEMBER } };
    await send(link);
    await runActions();
    expect((await take(aws.flashdutyActionsQueueUrl)).map((m) => JSON.parse(m.Body!))).toEqual([link]);
    expect(fd.calls).toEqual([]);
  });
});

describe('actionsVia "api"', () => {
  it('calls the Flashduty Open API once and queues one incident.update, even when delivered twice', async () => {
    const t = await putTenant(table, aTenant({ flashdutyAppKey: APP_KEY, actionsVia: 'api' }));
    const action = anAction(t.tenantId);
    await send(action);
    await send(action);
    await runActions();
    expect(writes()).toEqual([expect.objectContaining({ api: 'ack', status: 200, accountId: ACCOUNT })]);
    expect(fd.actions()).toEqual([expect.objectContaining({ api: 'ack', incidentIds: [INCIDENT] })]);
    expect(fd.incident(ACCOUNT, INCIDENT)?.progress).toBe('Processing');
    const updates = (await take(aws.notifyQueueUrl)).map((m) => JSON.parse(m.Body!));
    expect(updates).toEqual([
      {
        version: 1,
        id: `action-${action.id}`,
        tenantId: t.tenantId,
        kind: 'incident.update',
        incident: { id: INCIDENT, status: 'acknowledged' },
        by: { name: 'Li Lei', memberId: MEMBER, dingtalkUserId: 'u2' },
        at: action.at, // the press: it applies in order with Flashduty's own updates
      },
    ]);
    expect(await take(aws.flashdutyActionsQueueUrl)).toEqual([]);
  });

  it('snoozes with the minutes and says until when', async () => {
    const t = await putTenant(table, aTenant({ flashdutyAppKey: APP_KEY, actionsVia: 'api' }));
    const processing = '69da451ef77b1b51f40e83ef'; // seed: Processing (snooze follows an ack)
    await send(anAction(t.tenantId, { incidentId: processing, action: 'snooze', snoozeMinutes: 120 }));
    const before = Date.now();
    await runActions();
    expect(fd.actions().filter((a) => a.api === 'snooze')).toEqual([expect.objectContaining({ api: 'snooze', incidentIds: [processing], minutes: 120 })]);
    const [update] = (await take(aws.notifyQueueUrl)).map((m) => JSON.parse(m.Body!));
    expect(update).toMatchObject({ incident: { id: processing, status: 'snoozed' } });
    expect(Date.parse(update.snoozedUntil) - before).toBeGreaterThanOrEqual(120 * 60_000 - 1000);
    expect(Date.parse(update.snoozedUntil) - before).toBeLessThan(120 * 60_000 + 10_000);
  });

  it('a snooze pressed on a triggered card acknowledges first, so Flashduty takes it (snooze follows an ack)', async () => {
    const t = await putTenant(table, aTenant({ flashdutyAppKey: APP_KEY, actionsVia: 'api' }));
    await send(anAction(t.tenantId, { incidentId: INCIDENT, action: 'snooze', snoozeMinutes: 240 }));
    await runActions();
    expect(fd.actions().map((a) => [a.api, a.incidentIds[0]])).toEqual([['ack', INCIDENT], ['snooze', INCIDENT]]);
    expect(fd.incident(2451002751131, INCIDENT)).toMatchObject({ progress: 'Processing', snoozedBefore: expect.any(Number) });
    expect(fd.incident(2451002751131, INCIDENT)!.snoozedBefore).toBeGreaterThan(0);
    const [update] = (await take(aws.notifyQueueUrl)).map((m) => JSON.parse(m.Body!));
    expect(update).toMatchObject({ incident: { id: INCIDENT, status: 'snoozed' } });
  });

  it.each([
    ['rateLimit', 429],
    ['5xx', 500],
  ] as const)('retries a %s answer (HTTP %i) and then applies the action once', async (kind, status) => {
    const t = await putTenant(table, aTenant({ flashdutyAppKey: APP_KEY, actionsVia: 'api' }));
    fd.inject({ api: 'resolve', kind, count: 2 });
    await send(anAction(t.tenantId, { action: 'close' }));
    const counts = await runActions();
    // Redelivered by SQS after each refusal (the server's receive counts may skip numbers).
    expect(counts).toHaveLength(3);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
    expect(writes().map((c) => c.status)).toEqual([status, status, 200]);
    expect(fd.actions()).toHaveLength(1);
    expect(fd.incident(ACCOUNT, INCIDENT)?.progress).toBe('Closed');
    expect(await take(aws.notifyQueueUrl)).toHaveLength(1);
    expect(await take(aws.actionsDlqUrl)).toEqual([]);
  });

  it('dead-letters a 401 (a bad APP Key) with the reason, and calls no more', async () => {
    const t = await putTenant(table, aTenant({ flashdutyAppKey: 'not-a-real-key', actionsVia: 'api' }));
    const action = anAction(t.tenantId);
    await send(action);
    const { result: counts, logs } = await captureLogs(() => runActions());
    expect(counts).toEqual([1]);
    expect(writes().map((c) => c.status)).toEqual([401]);
    const dead = await take(aws.actionsDlqUrl);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0].Body!)).toEqual(action);
    expect(readDeadLetter(dead[0].MessageAttributes)).toMatchObject({ source: 'actions', tenantId: t.tenantId, messageId: action.id, reason: expect.stringContaining('401 Unauthorized') });
    expect(readDeadLetter(dead[0].MessageAttributes).reason).not.toContain('not-a-real-key');
    // The failure is visible: the reason names the action, the incident and the presser, and an ERROR log says so.
    expect(readDeadLetter(dead[0].MessageAttributes).reason).toContain(`ack of incident ${INCIDENT} pressed by DingTalk user u2 (member ${MEMBER})`);
    const line = logs.map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).find((l) => l?.message === 'action dead-lettered');
    expect(line).toMatchObject({ level: 'ERROR', actionId: action.id, reason: expect.stringContaining(`incident ${INCIDENT}`) });
    expect(logs.join('\n')).not.toContain('not-a-real-key');
    expect(fd.incident(ACCOUNT, INCIDENT)?.progress).toBe('Triggered');
    expect(await take(aws.notifyQueueUrl)).toEqual([]);
  });
});

describe('messages that can never be handed over', () => {
  it('dead-letters an invalid message and one for an unknown tenant, with the reason', async () => {
    await send('{"version":1,"action":"ack"}');
    await send(anAction('no-such-tenant'));
    await runActions();
    const reasons = (await take(aws.actionsDlqUrl)).map((m) => readDeadLetter(m.MessageAttributes).reason).sort();
    expect(reasons).toEqual([expect.stringContaining('invalid actions message'), expect.stringContaining('unknown tenant no-such-tenant')]);
    expect(await take(aws.flashdutyActionsQueueUrl)).toEqual([]);
  });
});

describe('a hand-over whose record cannot be written', () => {
  /**
   * The actions handler on the real table and queues, called directly so the test controls the
   * clock and sees the backoff; the table fails the write that says `handed`, `failures` times.
   */
  async function directDeps(failures: number, clock: { skewMs: number }) {
    const { sendJson, sendText } = await import('../../../lib/queue/sqs');
    const { deadLetter } = await import('../../../lib/queue/deadLetter');
    const { getTenant } = await import('../../../lib/store/tenants');
    const { getFlashdutyAppKey } = await import('../../../lib/store/secrets');
    const delays: number[] = [];
    let left = failures;
    const failing = {
      name: table.name,
      doc: {
        send: (cmd: { input?: { ExpressionAttributeValues?: Record<string, unknown> } }) => {
          if (cmd.input?.ExpressionAttributeValues?.[':handed'] === 'handed' && left > 0) {
            left--;
            return Promise.reject(Object.assign(new Error('injected: DynamoDB unavailable'), { name: 'ServiceUnavailable' }));
          }
          return table.doc.send(cmd as never);
        },
      },
    } as unknown as Table;
    const deps = {
      table: failing,
      getTenant: (id: string) => getTenant(table, id),
      getAppKey: (id: string) => getFlashdutyAppKey(table, id),
      sendOutbound: async (body: string, tenantId: string) => void (await sendText(sqs, aws.flashdutyActionsQueueUrl, body, { groupId: tenantId })),
      sendNotify: async (message: unknown, tenantId: string) => void (await sendJson(sqs, aws.notifyQueueUrl, message, { groupId: tenantId })),
      deadLetter: async (body: string, info: never) => void (await deadLetter(sqs, aws.actionsDlqUrl, body, info)),
      delay: async (_r: unknown, seconds: number) => void delays.push(seconds),
      flashduty: { baseUrl: fd.url },
      retry: { baseSeconds: 0, capSeconds: 300, maxReceiveCount: 8 },
      now: () => Date.now() + clock.skewMs,
    };
    return { deps, delays };
  }

  async function oneRecord(body: unknown) {
    await send(body);
    const arn = `arn:aws:sqs:us-east-1:000000000000:${aws.actionsQueueUrl.split('/').pop()}`;
    const [m] = await take(aws.actionsQueueUrl);
    return (receiveCount: number) => ({ ...toSqsRecord(m, arn), attributes: { ...toSqsRecord(m, arn).attributes, ApproximateReceiveCount: String(receiveCount) } });
  }

  const actionRecord = async (tenantId: string, id: string) => {
    const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
    const { actionKey } = await import('../../../lib/contracts/tableKeys');
    return (await table.doc.send(new GetCommand({ TableName: table.name, Key: actionKey(tenantId, id), ConsistentRead: true }))).Item;
  };

  it.each([
    ['queue', {}],
    ['api', { flashdutyAppKey: APP_KEY, actionsVia: 'api' as const }],
  ])('actionsVia %s: handed over once; only the record is retried, after the lease, and never the hand-over', async (via, tenantFields) => {
    const { handleAction } = await import('../../../lib/actions/handleAction');
    const t = await putTenant(table, aTenant(tenantFields));
    const action = anAction(t.tenantId);
    const record = await oneRecord(action);
    const clock = { skewMs: 0 };
    const { deps, delays } = await directDeps(1, clock);

    // The hand-over succeeds, the write that says so fails: the message comes back after the lease.
    const first = await captureLogs(() => handleAction(deps as never, record(1)).then(() => 'done', (e: Error) => e.name));
    expect(first.result).toBe('RetryLaterError');
    expect(delays).toEqual([61]);
    expect(first.logs.some((l) => l.includes('"level":"ERROR"') && l.includes('its record not updated'))).toBe(true);
    expect(await actionRecord(t.tenantId, action.id)).toMatchObject({ state: 'handing' });

    // Back early (a duplicate within the lease): waits, hands nothing over.
    await expect(handleAction(deps as never, record(2))).rejects.toThrow('another delivery');
    // Back after the lease: counted as handed, recorded, not handed over again.
    clock.skewMs = 61_000;
    await expect(handleAction(deps as never, record(3))).resolves.toBe('skipped');
    expect(await actionRecord(t.tenantId, action.id)).toMatchObject({ state: 'handed', via });
    await expect(handleAction(deps as never, record(4))).resolves.toBe('skipped');

    const outbound = await take(aws.flashdutyActionsQueueUrl);
    const updates = await take(aws.notifyQueueUrl);
    if (via === 'queue') {
      expect(outbound.map((m) => JSON.parse(m.Body!).id)).toEqual([action.id]);
      expect(fd.calls).toEqual([]);
    } else {
      expect(outbound).toEqual([]);
      expect(fd.actions()).toEqual([expect.objectContaining({ api: 'ack', incidentIds: [INCIDENT] })]);
      expect(updates).toHaveLength(1);
    }
    expect(await take(aws.actionsDlqUrl)).toEqual([]);
  });

  it('a hand-over that failed goes back to pending: the retry hands it over, once', async () => {
    const { handleAction } = await import('../../../lib/actions/handleAction');
    const t = await putTenant(table, aTenant({ flashdutyAppKey: APP_KEY, actionsVia: 'api' }));
    fd.inject({ api: 'ack', kind: 'rateLimit', count: 1 });
    const action = anAction(t.tenantId);
    const record = await oneRecord(action);
    const { deps } = await directDeps(0, { skewMs: 0 });
    await expect(handleAction(deps as never, record(1))).rejects.toThrow('retry in');
    expect(await actionRecord(t.tenantId, action.id)).toMatchObject({ state: 'pending', leaseUntil: 0 });
    await expect(handleAction(deps as never, record(2))).resolves.toBe('handed');
    expect(writes().map((c) => c.status)).toEqual([429, 200]);
    expect(await take(aws.notifyQueueUrl)).toHaveLength(1);
  });
});
