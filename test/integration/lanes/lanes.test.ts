import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { toSqsRecord } from '../../../infra/local/poller';
import { addToBacklog, backlogPage } from '../../../lib/lanes/backlog';
import { sweepLanes } from '../../../lib/lanes/sweep';
import { Lanes } from '../../../lib/lanes/lanes';
import { createSender } from '../../../lib/sender/createSender';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import { acquireLease, releaseLease } from '../../../lib/lanes/lease';
import { laneKey } from '../../../lib/contracts/tableKeys';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { maxInWindow } from '../../../lib/shaping/gcra';
import { reserveCalls, usage } from '../../../lib/quota/counter';
import { countParked } from '../../../lib/quota/parking';
import { aNotify, aTenant, lambdaContext } from '../../support/factories';
import { statuses, useWorld, type Handler } from '../../support/world';

/**
 * Lanes on the real path (DynamoDB Local, the SQS server, the strict DingTalk simulator): the
 * sender serves an app at once while its lane is free, moves a held lane's messages to the app's
 * backlog, and the drain function (functions/drain) sends the backlog at the app's pace.
 */
const w = useWorld();

let drainHandler: Handler;
beforeAll(async () => {
  drainHandler = (await import('../../../functions/drain')).handler as unknown as Handler;
});

const drainUrl = () => process.env.DRAIN_QUEUE_URL!;

/** Drain requests waiting on the drain queue (removed from it). */
async function takeDrainRequests(): Promise<SQSRecord[]> {
  const out: SQSRecord[] = [];
  for (let empty = 0; empty < 2; ) {
    const r = await w.sqs.send(new ReceiveMessageCommand({ QueueUrl: drainUrl(), MaxNumberOfMessages: 10, WaitTimeSeconds: 0, AttributeNames: ['All'] }));
    if (!r.Messages?.length) {
      empty++;
      continue;
    }
    for (const m of r.Messages) {
      out.push(toSqsRecord(m, 'arn:aws:sqs:us-east-1:000000000000:dingtalk-drain'));
      await w.sqs.send(new DeleteMessageCommand({ QueueUrl: drainUrl(), ReceiptHandle: m.ReceiptHandle! }));
    }
  }
  return out;
}

const runDrain = (records: SQSRecord[]) => drainHandler({ Records: records }, { ...lambdaContext, functionName: 'drain', getRemainingTimeInMillis: () => 60_000 });

const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ userId: `${prefix}${i}` }));

describe('lanes', () => {
  beforeEach(async () => void (await takeDrainRequests()));

  it("serves a quiet tenant at once while another tenant's lane is held, and keeps the held tenant's pages in its backlog", async () => {
    const storm = await w.aTenantWith({ users: users('s', 5), simulatorQps: 20 });
    const quiet = await w.aTenantWith({ users: [{ userId: 'q1' }], simulatorQps: 20 });
    // Another instance is draining the stormy tenant's app.
    const other = await acquireLease(w.table, storm.clientId, 'another-instance', Date.now());
    expect(other).toBeDefined();

    for (let i = 0; i < 5; i++) await w.send(aNotify(storm, { id: `s-${i}`, to: { userIds: [`s${i}`] } }));
    await w.send(aNotify(quiet, { id: 'q-1', to: { userIds: ['q1'] } }));
    await w.deliver();

    expect(statuses(await w.outcome(quiet.tenantId, 'q-1'))).toEqual({ 'user q1': 'sent' });
    expect(w.calls('batchSend', storm.clientId)).toHaveLength(0);
    // Acknowledged from the shared queue, waiting in the app's backlog; nothing lost.
    expect(await w.receive()).toEqual([]);
    expect((await backlogPage(w.table, storm.clientId, 100)).map((b) => JSON.parse(b.body).id).sort()).toEqual(['s-0', 's-1', 's-2', 's-3', 's-4']);

    // The holder gives the lane back; the drain sends the backlog.
    await releaseLease(w.table, other!, {});
    expect(await sweepLanes({ table: w.table, sqs: w.sqs, drainQueueUrl: drainUrl() })).toEqual([storm.clientId]);
    await runDrain(await takeDrainRequests());
    for (let i = 0; i < 5; i++) expect(statuses(await w.outcome(storm.tenantId, `s-${i}`))).toEqual({ [`user s${i}`]: 'sent' });
    expect(await backlogPage(w.table, storm.clientId, 100)).toEqual([]);
  });

  it("drains a storm at the app's pace in one lane: every page once, never over DingTalk's window, the lane handed on", async () => {
    const n = 80;
    const t = await w.aTenantWith({ users: users('u', n), simulatorQps: 20, tenant: { edition: 'standard' } });
    // Distinct content: one call per page (identical pages would share calls, 20 users each).
    for (let i = 0; i < n; i++) await w.send(aNotify(t, { id: `m-${i}`, to: { userIds: [`u${i}`] }, message: { title: `alert ${i}`, markdown: `### alert ${i}` } }));
    // Eight batches at once, as concurrent Lambda instances receive them: one takes the lane.
    const batches: SQSRecord[][] = [];
    for (let r = await w.receive(); r.length; r = await w.receive()) batches.push(r);
    await Promise.all(batches.map((b) => w.invoke(b)));
    expect(w.calls('batchSend', t.clientId).length).toBeLessThan(n);
    expect((await backlogPage(w.table, t.clientId, 200)).length).toBeGreaterThan(0);

    // The holder asked for a drain when it gave the lane back; the drain sends the rest.
    const requests = await takeDrainRequests();
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) await runDrain([r]);

    const sent = w.calls('batchSend', t.clientId).filter((c) => c.status === 200);
    expect(sent).toHaveLength(n);
    expect(new Set(sent.map((c) => (c.body as { userIds: string[] }).userIds[0])).size).toBe(n);
    expect(w.calls('batchSend', t.clientId).filter((c) => c.overLimit)).toEqual([]);
    expect(maxInWindow(sent.map((c) => c.at))).toBeLessThanOrEqual(20);
    expect(await backlogPage(w.table, t.clientId, 200)).toEqual([]);
    // The lane is free, and remembers the last calls for the next holder.
    const lane = (await w.table.doc.send(new GetCommand({ TableName: w.table.name, Key: laneKey(t.clientId) }))).Item;
    expect(lane?.holder).toBeUndefined();
    expect((lane?.recent as { batchSend: number[] }).batchSend.length).toBeGreaterThan(0);
  });

  it('a page fanned out to many users, one message each over several batches, goes out 20 users a call from the backlog', async () => {
    const n = 40;
    const t = await w.aTenantWith({ users: users('f', n), simulatorQps: 20, tenant: { edition: 'standard' } });
    for (let i = 0; i < n; i++) await w.send(aNotify(t, { id: `f-${i}`, to: { userIds: [`f${i}`] }, message: { title: 'DB down', markdown: '### DB down' } }));
    // Batch by batch, each to a free lane: none is sent on its own (that would be 4 calls of 10).
    for (let r = await w.receive(); r.length; r = await w.receive()) await w.invoke(r);
    expect(w.calls('batchSend', t.clientId)).toEqual([]);
    expect(await backlogPage(w.table, t.clientId, 200)).toHaveLength(n);

    for (const r of await takeDrainRequests()) await runDrain([r]);
    const sent = w.calls('batchSend', t.clientId).filter((c) => c.status === 200);
    expect(sent.map((c) => (c.body as { userIds: string[] }).userIds.length)).toEqual([20, 20]);
    for (let i = 0; i < n; i++) expect(statuses(await w.outcome(t.tenantId, `f-${i}`))).toEqual({ [`user f${i}`]: 'sent' });
  });

  it('one page to one user goes straight through a free lane, not through the backlog', async () => {
    const t = await w.aTenantWith({ users: users('o', 2), simulatorQps: 20 });
    await w.send(aNotify(t, { id: 'o-0', to: { userIds: ['o0'] } }));
    await w.send(aNotify(t, { id: 'o-1', to: { userIds: ['o1'] }, message: { title: 'other', markdown: 'other' } }));
    await w.invoke(await w.receive());
    expect(w.calls('batchSend', t.clientId).filter((c) => c.status === 200)).toHaveLength(2);
    expect(await backlogPage(w.table, t.clientId, 10)).toEqual([]);
  });

  it('a holder that died loses the lane when its lease runs out; the sweep has its backlog drained', async () => {
    const t = await w.aTenantWith({ users: [{ userId: 'd1' }], simulatorQps: 20 });
    expect(await acquireLease(w.table, t.clientId, 'crashed-instance', Date.now(), 200)).toBeDefined();
    await w.send(aNotify(t, { id: 'd-1', to: { userIds: ['d1'] } }));
    await w.deliver();
    expect(w.calls('batchSend', t.clientId)).toHaveLength(0);
    // The sender asked for a drain for when the lease would run out (a delayed request).
    await new Promise((r) => setTimeout(r, 300));
    expect(await sweepLanes({ table: w.table, sqs: w.sqs, drainQueueUrl: drainUrl() })).toContain(t.clientId);
    const requests = await takeDrainRequests();
    await runDrain(requests.slice(0, 1));
    expect(statuses(await w.outcome(t.tenantId, 'd-1'))).toEqual({ 'user d1': 'sent' });
  });

  it('two copies of one message in a batch (SQS delivers at least once): the second waits in the backlog, then finds it sent', async () => {
    const t = await w.aTenantWith({ users: [{ userId: 'c1' }], simulatorQps: 20 });
    const msg = aNotify(t, { id: 'copy-1', to: { userIds: ['c1'] } });
    await w.send(msg);
    await w.send(msg);
    const records = await w.receive();
    expect(records).toHaveLength(2);
    await w.invoke(records);
    expect(await backlogPage(w.table, t.clientId, 10)).toHaveLength(1);
    await w.deliver();
    expect(w.calls('batchSend', t.clientId)).toHaveLength(1);
    expect(statuses(await w.outcome(t.tenantId, 'copy-1'))).toEqual({ 'user c1': 'sent' });
    expect(await backlogPage(w.table, t.clientId, 10)).toEqual([]);
  });

  it('uses exactly the quota left, reserved several calls per write, and parks the rest', async () => {
    const t = await w.aTenantWith({ users: users('q', 60), simulatorQps: 20, tenant: { edition: 'standard' } });
    await reserveCalls(w.table, t.corpId, 9970, { quota: 10_000, severity: 'critical' });
    w.sim.setQuotaUsed(t.corpId, 9970);
    for (let i = 0; i < 60; i++) await w.send(aNotify(t, { id: `q-${i}`, severity: 'critical', to: { userIds: [`q${i}`] }, message: { title: `q ${i}`, markdown: `q ${i}` } }));
    const batches: SQSRecord[][] = [];
    for (let r = await w.receive(); r.length; r = await w.receive()) batches.push(r);
    await Promise.all(batches.map((b) => w.invoke(b)));
    await w.drain();
    expect(w.calls('batchSend', t.clientId).filter((c) => c.status === 200)).toHaveLength(30);
    expect(w.sim.pastQuotaCount()).toBe(0);
    expect(await countParked(w.table, t.corpId)).toBe(30);
    // Nothing reserved is left unused on the counter: it says what DingTalk counted.
    expect((await usage(w.table, t.corpId)).used).toBe(10_000);
  });

  it("a backlog whose tenant was deleted is not stranded: its messages are dead-lettered with the reason", async () => {
    const gone = aTenant({ tenantId: 'deleted-tenant', clientId: 'dingGoneApp' });
    const body = JSON.stringify(aNotify(gone, { id: 'g-1', to: { userIds: ['x'] } }));
    await addToBacklog(w.table, gone.clientId, [{ body, tenantId: gone.tenantId, messageId: 'g-1', sqsMessageId: 'sq-g-1', receiveCount: 1, sentAt: Date.now(), critical: false }]);
    await w.sqs.send(new SendMessageCommand({ QueueUrl: drainUrl(), MessageBody: JSON.stringify({ clientId: gone.clientId }) }));
    await runDrain(await takeDrainRequests());
    expect(await backlogPage(w.table, gone.clientId, 10)).toEqual([]);
    expect((await w.takeDeadLetters()).map((d) => d.reason)).toEqual([expect.stringMatching(/unknown tenant deleted-tenant/)]);
  });

  it('a tenant lookup that fails fails the record (SQS brings it back): nothing is sent outside its lane', async () => {
    const t = await w.aTenantWith({ users: [{ userId: 'l1' }], simulatorQps: 20 });
    const sender = createSender({ table: w.table, sqs: w.sqs, client: new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl }), dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl });
    const unavailable = async (): Promise<never> => {
      throw new Error('DynamoDB unavailable');
    };
    const lanes = new Lanes({ table: w.table, sqs: w.sqs, sender, getTenant: unavailable, drainQueueUrl: drainUrl() });
    await w.send(aNotify(t, { id: 'l-1', to: { userIds: ['l1'] } }));
    const [record] = await w.receive();
    await expect(lanes.route([record])(record)).rejects.toThrow('DynamoDB unavailable');
    expect(w.calls('batchSend', t.clientId)).toHaveLength(0);
    // SQS brings it back (its visibility ends), and the sender delivers it under its lane.
    await w.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: w.aws.notifyQueueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 0 }));
    await w.deliver();
    expect(statuses(await w.outcome(t.tenantId, 'l-1'))).toEqual({ 'user l1': 'sent' });
  });

  it('a drain request for a lane held elsewhere ends at once and sends nothing; a malformed one is dropped', async () => {
    const t = await w.aTenantWith({ users: [{ userId: 'h1' }], simulatorQps: 20 });
    const other = await acquireLease(w.table, t.clientId, 'another-instance', Date.now());
    await w.send(aNotify(t, { id: 'h-1', to: { userIds: ['h1'] } }));
    await w.deliver();
    await w.sqs.send(new SendMessageCommand({ QueueUrl: drainUrl(), MessageBody: JSON.stringify({ clientId: t.clientId }) }));
    await w.sqs.send(new SendMessageCommand({ QueueUrl: drainUrl(), MessageBody: 'not json' }));
    const r = await runDrain(await takeDrainRequests());
    expect(r.batchItemFailures).toEqual([]);
    expect(w.calls('batchSend', t.clientId)).toHaveLength(0);
    expect(await backlogPage(w.table, t.clientId, 10)).toHaveLength(1);
    await releaseLease(w.table, other!, {});
  });
});
