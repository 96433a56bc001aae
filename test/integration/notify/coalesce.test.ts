import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSRecord } from 'aws-lambda';
import type { CallGate, GateCall } from '../../../lib/dingtalk/callGate';
import { createSender } from '../../../lib/sender/createSender';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import type { NotifyRequest } from '../../../lib/contracts/notifyMessage';
import type { Tenant } from '../../../lib/contracts/tenant';
import { DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { createShaping } from '../../../lib/shaping/createShaping';
import { cachedTenants } from '../../../lib/store/tenantCache';
import { withAppSecret } from '../../../lib/store/secrets';
import { getTenant as tenantRecord } from '../../../lib/store/tenants';
import { lambdaContext } from '../../support/factories';
import { aNotify, useWorld, statuses } from '../../support/world';

/**
 * Coalescing: within one batch the sender core delivers, notifications of one tenant with the same
 * content and severity share their batchSend calls (20 distinct users per call); each message still
 * has its own delivery records, verdict and batch item failure. Driven through the sender core with
 * the real shaping gate (rate limiter, quota), on DynamoDB Local, the SQS server and the DingTalk
 * simulator. (Through functions/sender, a batch of identical pages is a fan-out: it goes through
 * the app's backlog and the drain delivers it with this same core; see lanes.test.)
 */

const w = useWorld();

/** One invocation of the sender core on `records`, as the lanes run it: the ids of the batch item failures; the rest is deleted from the queue. */
async function invoke(records: SQSRecord[]): Promise<string[]> {
  const getTenant = cachedTenants((id) => withAppSecret(w.table, id, (t) => tenantRecord(w.table, t)), { ttlMs: 10_000 });
  const shaping = createShaping(w.table, getTenant);
  const client = new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl, timeoutMs: 1000 });
  const sender = createSender({ table: w.table, sqs: w.sqs, client, getTenant, gate: shaping.gate, park: shaping.park, dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, retry: { baseSeconds: 0 } });
  const response = await processPartialResponse({ Records: records }, sender.prepare(records), new BatchProcessor(EventType.SQS), { context: lambdaContext });
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  for (const r of records) if (!failed.has(r.messageId)) await w.sqs.send(new DeleteMessageCommand({ QueueUrl: w.aws.notifyQueueUrl, ReceiptHandle: r.receiptHandle }));
  return [...failed];
}

// Each test starts from a simulator that saw nothing, not even the clean-up's calls.
beforeEach(() => w.sim.reset());

let batchNo = 0;
/** `n` people of a fresh organisation, named after this batch. */
const people = (n: number) => {
  batchNo += 1;
  return Array.from({ length: n }, (_, i) => ({ userId: `b${batchNo}u${i + 1}` }));
};

/** Takes every one of `n` messages off the notify queue (a receive gives at most 10): one batch for one invocation. */
async function receiveAll(n: number): Promise<SQSRecord[]> {
  const records: SQSRecord[] = [];
  await w.until(async () => {
    records.push(...(await w.receive()));
    return records.length >= n;
  });
  expect(records).toHaveLength(n);
  return records;
}

/** Sends `msgs` and receives them back as one batch. */
async function queued(msgs: NotifyRequest[]): Promise<SQSRecord[]> {
  for (const m of msgs) await w.send(m);
  return receiveAll(msgs.length);
}

const userIdsOf = (call: { body: unknown }) => (call.body as { userIds: string[] }).userIds;
const batchSends = (tenant: Tenant) => w.calls('batchSend', tenant.clientId);
const sizes = (tenant: Tenant) => batchSends(tenant).map((c) => userIdsOf(c).length).sort((a, b) => b - a);
const recipients = () => w.sim.messages().map((m) => m.to).sort();
const byBody = (records: SQSRecord[]) => new Map(records.map((r) => [(JSON.parse(r.body) as NotifyRequest).id, r.messageId]));

describe('identical notifications in one batch share their batchSend calls', () => {
  it('25 messages with the same content, each to its own user, take two batchSend calls of 20 and 5', async () => {
    // given
    const users = people(25);
    const tenant = await w.aTenantWith({ users });
    const msgs = users.map((u) => aNotify(tenant, { to: { userIds: [u.userId] } }));
    const records = await queued(msgs);
    // when: one invocation with all 25 records
    const failed = await invoke(records);
    // then
    expect(failed).toEqual([]);
    expect(sizes(tenant)).toEqual([20, 5]);
    expect(recipients()).toEqual(users.map((u) => u.userId).sort());
    for (const [i, m] of msgs.entries()) {
      const o = await w.outcome(tenant.tenantId, m.id);
      expect(o.message).toMatchObject({ state: 'done', attempts: 1 });
      expect(statuses(o)).toEqual({ [`user ${users[i].userId}`]: 'sent' });
    }
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('a user in two identical messages gets one DingTalk message, recorded as sent for both', async () => {
    // given: A to s1 and s2, B to s2 and s3, same content
    const [s1, s2, s3] = people(3).map((u) => u.userId);
    const tenant = await w.aTenantWith({ users: [{ userId: s1 }, { userId: s2 }, { userId: s3 }] });
    const a = aNotify(tenant, { to: { userIds: [s1, s2] } });
    const b = aNotify(tenant, { to: { userIds: [s2, s3] } });
    const records = await queued([a, b]);
    // when
    expect(await invoke(records)).toEqual([]);
    // then: one call, each person once
    expect(batchSends(tenant).map((c) => userIdsOf(c).sort())).toEqual([[s1, s2, s3].sort()]);
    expect(recipients()).toEqual([s1, s2, s3].sort());
    const [oa, ob] = [await w.outcome(tenant.tenantId, a.id), await w.outcome(tenant.tenantId, b.id)];
    expect(statuses(oa)).toEqual({ [`user ${s1}`]: 'sent', [`user ${s2}`]: 'sent' });
    expect(statuses(ob)).toEqual({ [`user ${s2}`]: 'sent', [`user ${s3}`]: 'sent' });
    const requestIdOf = (o: typeof oa) => o.recipients.find((r) => r.to === s2)?.requestId;
    expect(requestIdOf(oa)).toBeDefined();
    expect(requestIdOf(oa)).toBe(requestIdOf(ob));
    expect([oa.message?.state, ob.message?.state]).toEqual(['done', 'done']);
  });

  it('messages with other content, another severity or another tenant are not merged', async () => {
    // given
    const [u1, u2, u3] = people(3).map((u) => u.userId);
    const tenant = await w.aTenantWith({ users: [{ userId: u1 }, { userId: u2 }, { userId: u3 }] });
    const other = await w.aTenantWith({ users: [{ userId: u1 }] });
    const content = { title: 'DB down', markdown: '### DB down\n- orders' };
    const msgs = [
      aNotify(tenant, { to: { userIds: [u1] }, message: content }),
      aNotify(tenant, { to: { userIds: [u2] }, message: { ...content, markdown: '### DB down\n- payments' } }),
      aNotify(tenant, { to: { userIds: [u3] }, message: content, severity: 'critical' }),
      aNotify(other, { to: { userIds: [u1] }, message: content }),
    ];
    const records = await queued(msgs);
    // when
    expect(await invoke(records)).toEqual([]);
    // then: one call per message, each with its own text
    expect(batchSends(tenant).map((c) => userIdsOf(c)).sort()).toEqual([[u1], [u2], [u3]]);
    expect(batchSends(other).map((c) => userIdsOf(c))).toEqual([[u1]]);
    const texts = w.sim.messages().map((m) => `${m.robotCode}/${m.to}: ${m.msgParam.text}`).sort();
    expect(texts).toEqual(
      [
        `${tenant.clientId}/${u1}: ### DB down\n- orders`,
        `${tenant.clientId}/${u2}: ### DB down\n- payments`,
        `${tenant.clientId}/${u3}: ### DB down\n- orders`,
        `${other.clientId}/${u1}: ### DB down\n- orders`,
      ].sort(),
    );
    for (const m of msgs) expect((await w.outcome(m.tenantId, m.id)).message).toMatchObject({ state: 'done' });
  });

  it('a redelivered batch sends nothing again', async () => {
    // given: a batch delivered, but SQS never got the deletes (the invocation died after DingTalk answered)
    const users = people(22);
    const tenant = await w.aTenantWith({ users });
    const msgs = users.map((u) => aNotify(tenant, { to: { userIds: [u.userId] } }));
    const records = await queued(msgs);
    expect(await invoke(records)).toEqual([]);
    expect(sizes(tenant)).toEqual([20, 2]);
    // when: SQS hands the same batch to the function again
    const again = await invoke(records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: '2' } })));
    // then
    expect(again).toEqual([]);
    expect(batchSends(tenant)).toHaveLength(2);
    expect(w.sim.messages()).toHaveLength(22);
    for (const [i, m] of msgs.entries()) {
      const o = await w.outcome(tenant.tenantId, m.id);
      expect(o.message).toMatchObject({ state: 'done', attempts: 2 });
      expect(statuses(o)).toEqual({ [`user ${users[i].userId}`]: 'sent' });
    }
    await invoke(records);
  });

  it('a shared call failing retryably hands back exactly its messages; a message with other content succeeds', async () => {
    // given: 25 identical messages (two shared calls) and a group post with other content; the first batchSend answers 5xx
    const users = people(25);
    const tenant = await w.aTenantWith({ users, groups: [{ openConversationId: 'cidOther==' }] });
    const msgs = users.map((u) => aNotify(tenant, { to: { userIds: [u.userId] } }));
    const post = aNotify(tenant, { to: { openConversationIds: ['cidOther=='] }, message: { title: 'Resolved', markdown: '### Resolved' } });
    const records = await queued([...msgs, post]);
    w.sim.inject({ api: 'batchSend', kind: '5xx', count: 1 });
    // when
    const failed = await invoke(records);
    // then: the failed call's messages, and only they, are batch item failures
    const failedCall = batchSends(tenant).find((c) => c.fault === '5xx')!;
    const failedUsers = new Set(userIdsOf(failedCall));
    expect([20, 5]).toContain(failedUsers.size);
    const messageIdOf = byBody(records);
    const expected = msgs.filter((m) => failedUsers.has(m.to.userIds![0])).map((m) => messageIdOf.get(m.id));
    expect(failed.sort()).toEqual(expected.sort());
    expect(failed).not.toContain(messageIdOf.get(post.id));
    for (const m of msgs) {
      const o = await w.outcome(tenant.tenantId, m.id);
      const handedBack = failedUsers.has(m.to.userIds![0]);
      expect(o.message?.state).toBe(handedBack ? 'retrying' : 'done');
      expect(statuses(o)).toEqual({ [`user ${m.to.userIds![0]}`]: handedBack ? 'retry' : 'sent' });
    }
    expect(statuses(await w.outcome(tenant.tenantId, post.id))).toEqual({ 'group cidOther==': 'sent' });

    // and when SQS brings them back, each is delivered; nobody gets two copies
    await w.deliver();
    const dms = w.sim.messages().filter((m) => m.to !== 'cidOther==').map((m) => m.to);
    expect(dms.sort()).toEqual(users.map((u) => u.userId).sort());
    for (const m of msgs) expect((await w.outcome(tenant.tenantId, m.id)).message).toMatchObject({ state: 'done' });
    expect(w.sim.messages().filter((m) => m.to === 'cidOther==')).toHaveLength(1);
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('a message with groups and mobiles shares its users part, and posts its own groups', async () => {
    // given: A to a user and a mobile and a group; B to the mobile's user and another; same content
    const [v1, v2, v3] = people(3).map((u) => u.userId);
    const tenant = await w.aTenantWith({ users: [{ userId: v1 }, { userId: v2, mobile: '13500000002' }, { userId: v3 }], groups: [{ openConversationId: 'cidMixed==' }] });
    const a = aNotify(tenant, { to: { userIds: [v1], mobiles: ['13500000002'], openConversationIds: ['cidMixed=='] } });
    const b = aNotify(tenant, { to: { userIds: [v2, v3] } });
    const records = await queued([a, b]);
    // when
    expect(await invoke(records)).toEqual([]);
    // then
    expect(batchSends(tenant).map((c) => userIdsOf(c).sort())).toEqual([[v1, v2, v3].sort()]);
    expect(recipients()).toEqual(['cidMixed==', v1, v2, v3].sort());
    expect(statuses(await w.outcome(tenant.tenantId, a.id))).toEqual({ [`user ${v1}`]: 'sent', [`user ${v2}`]: 'sent', 'mobile 13500000002': 'resolved', 'group cidMixed==': 'sent' });
    expect(statuses(await w.outcome(tenant.tenantId, b.id))).toEqual({ [`user ${v2}`]: 'sent', [`user ${v3}`]: 'sent' });
  });
});

describe('the sender core, batch by batch', () => {
  /** A gate that records what passed through it. */
  function aRecordingGate() {
    const before: GateCall[] = [];
    const gate: CallGate = { before: async (call) => void before.push(call), after: async () => undefined };
    return { gate, before };
  }

  it('each shared batchSend passes the gate once, even when the records are processed one after the other', async () => {
    // given: a sender with a recording gate, and a batch processor that does not run records in parallel
    const users = people(25);
    const tenant = await w.aTenantWith({ users });
    const { gate, before } = aRecordingGate();
    const client = new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl, timeoutMs: 1000 });
    const sender = createSender({ table: w.table, sqs: w.sqs, client, gate, dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, retry: { baseSeconds: 0 } });
    const msgs = users.map((u) => aNotify(tenant, { severity: 'critical', to: { userIds: [u.userId] } }));
    const records = await queued(msgs);
    // when
    const response = await processPartialResponse({ Records: records }, sender.prepare(records), new BatchProcessor(EventType.SQS), { context: lambdaContext, processInParallel: false });
    // then
    expect(response.batchItemFailures).toEqual([]);
    const sends = before.filter((c) => c.api === 'batchSend');
    expect(sends).toHaveLength(2);
    expect(sends.every((c) => c.severity === 'critical' && c.clientId === tenant.clientId && c.counted)).toBe(true);
    expect(sizes(tenant)).toEqual([20, 5]);
    for (const m of msgs) expect((await w.outcome(tenant.tenantId, m.id)).message).toMatchObject({ state: 'done' });
    for (const r of records) await invoke([r]);
  });
});
