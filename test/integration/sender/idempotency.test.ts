import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { contentHash } from '../../../lib/delivery/contentHash';
import { Outcomes } from '../../../lib/delivery/outcomes';
import { DingTalkClient } from '../../../lib/dingtalk/client';
import { createSender } from '../../../lib/sender/createSender';
import { lambdaContext } from '../../support/factories';
import { aNotify, useWorld, statuses } from '../../support/world';

/**
 * The delivery rule per id: SQS redeliveries, Flashduty re-sending the same id, and a crash between
 * DingTalk's answer and the SQS delete never send a recipient DingTalk answered for a second copy;
 * a claim whose attempt died is taken over and sent again, marked as a possible duplicate.
 */

const w = useWorld();

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ userId: `p${i + 1}` }));

describe('at most once per id', () => {
  it('the same id sent twice at once (one batch) is delivered once', async () => {
    // given
    const users = people(25);
    const tenant = await w.aTenantWith({ users, groups: [{ openConversationId: 'cidDup==' }] });
    const msg = aNotify(tenant, { to: { userIds: users.map((u) => u.userId), openConversationIds: ['cidDup=='] } });
    // when
    await w.send(msg);
    await w.send(msg);
    await w.deliver();
    // then
    expect(w.sim.messages()).toHaveLength(26);
    expect(new Set(w.sim.messages().map((m) => m.to)).size).toBe(26);
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('the same id sent again later is not delivered again', async () => {
    // given: delivered once
    const tenant = await w.aTenantWith({ groups: [{ openConversationId: 'cidLater==' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1'], openConversationIds: ['cidLater=='] } });
    await w.send(msg);
    await w.deliver();
    expect(w.sim.messages()).toHaveLength(2);
    // when
    w.sim.reset();
    await w.send(msg);
    await w.deliver();
    // then: no DingTalk call at all
    expect(w.sim.calls.filter((c) => c.api === 'batchSend' || c.api === 'groupSend')).toHaveLength(0);
    expect((await w.outcome(tenant.tenantId, msg.id)).message).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('a crash after DingTalk answered but before SQS deleted the message sends nothing the second time', async () => {
    // given: the handler ran and DingTalk delivered, but the delete never happened
    const users = people(30);
    const tenant = await w.aTenantWith({ users });
    const msg = aNotify(tenant, { to: { userIds: users.map((u) => u.userId) } });
    await w.send(msg);
    const [record] = await w.receive();
    await w.handler({ Records: [record] }, lambdaContext);
    expect(w.sim.messages()).toHaveLength(30);
    // when: SQS hands the same record to the function again
    const again = await w.handler({ Records: [{ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }] }, lambdaContext);
    // then
    expect(again.batchItemFailures).toEqual([]);
    expect(w.sim.messages()).toHaveLength(30);
    expect(w.calls('batchSend', tenant.clientId)).toHaveLength(2);
    await w.invoke([record]);
  });

  it('an id re-used for different content is dead-lettered and nothing is sent for it', async () => {
    // given
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }, { userId: 'user2' }] });
    const first = aNotify(tenant, { to: { userIds: ['user1'] }, severity: 'info' });
    await w.send(first);
    await w.deliver();
    w.sim.reset();
    // when
    await w.send({ ...first, to: { userIds: ['user2'] }, severity: 'critical' });
    await w.deliver();
    // then
    expect(w.sim.messages()).toHaveLength(0);
    expect((await w.takeDeadLetters()).map((d) => d.reason)).toEqual([`id ${first.id} was already used for a different message: not sent`]);
    // and the original's record is left as it was
    expect((await w.outcome(tenant.tenantId, first.id)).message).toMatchObject({ state: 'done', attempts: 1, severity: 'info' });
  });
});

describe('a claim left behind by an attempt that died mid-send', () => {
  it('an orphaned claim (older than the lease) is taken over: sent again, marked as a possible duplicate; the others delivered', async () => {
    // given: an attempt claimed user1 ten minutes ago and died before recording what DingTalk said
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }, { userId: 'user2' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1', 'user2'] } });
    const tenMinutesAgo = Date.now() - 10 * 60_000;
    const dead = new Outcomes(w.table, tenant.tenantId, msg.id, () => tenMinutesAgo);
    await dead.begin({ kind: 'notify', hash: contentHash(msg) });
    expect(await dead.claim('user', 'user1', 'dead-attempt')).toBe('claimed');
    // when
    await w.send(msg);
    await w.deliver();
    // then: nobody is left without the page (a duplicate beats a loss), and the record says so
    expect(w.sim.messages().flatMap((m) => m.to.split(',')).sort()).toEqual(['user1', 'user2']);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(statuses(o)).toEqual({ 'user user1': 'sent', 'user user2': 'sent' });
    expect(o.recipients.find((r) => r.to === 'user1')).toMatchObject({ possibleDuplicate: true });
    expect(o.recipients.find((r) => r.to === 'user2')?.possibleDuplicate).toBeUndefined();
    expect(o.message).toMatchObject({ state: 'done' });
  });

  it('a send after an ambiguous answer or a dead attempt counts one PossibleDuplicates; a clean send counts none', async () => {
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }, { userId: 'user2' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1'] } });
    const clean = aNotify(tenant, { to: { userIds: ['user2'] } });
    // given: an attempt claimed user1 long ago and died
    await new Outcomes(w.table, tenant.tenantId, msg.id, () => Date.now() - 10 * 60_000).claim('user', 'user1', 'dead-attempt');
    const counted: Array<[string, number]> = [];
    const metrics = { addMetric: (name: string, _unit: unknown, n: number) => void counted.push([name, n]) } as never;
    const sender = createSender({ table: w.table, sqs: w.sqs, client: new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl }), dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, metrics });
    const record = (m: typeof msg, n: number) => ({ messageId: `m-${n}`, receiptHandle: `r-${n}`, body: JSON.stringify(m), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:none' }) as never;
    // when
    await sender.processRecord(record(msg, 1));
    await sender.processRecord(record(clean, 2));
    // then
    expect(counted).toEqual([['PossibleDuplicates', 1]]);
  });

  it('a claim whose write fails is never taken for done: the claims already taken are given back and the message retried', async () => {
    // given: DynamoDB refuses the claim of user2 once (throttling after the SDK's own retries, say)
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }, { userId: 'user2' }, { userId: 'user3' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1', 'user2', 'user3'] } });
    const send = w.table.doc.send.bind(w.table.doc);
    let failed = 0;
    const spy = jest.spyOn(w.table.doc, 'send').mockImplementation(((cmd: { input?: { Key?: { sk?: string }; ExpressionAttributeValues?: Record<string, unknown> } }) => {
      if (failed === 0 && cmd.input?.Key?.sk?.endsWith('#user2') && cmd.input.ExpressionAttributeValues?.[':v_status'] === 'pending') {
        failed++;
        return Promise.reject(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' }));
      }
      return send(cmd as never);
    }) as never);
    try {
      const sender = createSender({ table: w.table, sqs: w.sqs, client: new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl }), dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, retry: { baseSeconds: 0 } });
      const record = { messageId: 'm-1', receiptHandle: 'r-1', body: JSON.stringify(msg), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:none' } as never;
      // when
      await expect(sender.processRecord(record)).rejects.toThrow();
      // then: nothing was sent and no claim is left pending
      expect(failed).toBe(1);
      expect(w.sim.messages()).toEqual([]);
      const o = await w.outcome(tenant.tenantId, msg.id);
      expect(o.recipients.filter((r) => r.status === 'pending')).toEqual([]);
      // and the retry delivers everyone, once
      await sender.processRecord({ ...(record as object), attributes: { ApproximateReceiveCount: '2' } } as never);
      expect(w.sim.messages().flatMap((m) => m.to.split(',')).sort()).toEqual(['user1', 'user2', 'user3']);
    } finally {
      spy.mockRestore();
    }
  });

  it('no call starts once the invocation is out of time: the recipients wait for the retry, unclaimed, and are then delivered', async () => {
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }], groups: [{ openConversationId: 'cidA==' }, { openConversationId: 'cidB==' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1'], openConversationIds: ['cidA==', 'cidB=='] } });
    const sender = createSender({ table: w.table, sqs: w.sqs, client: new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl }), dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, retry: { baseSeconds: 0 } });
    const record = { messageId: 'm-2', receiptHandle: 'r-2', body: JSON.stringify(msg), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:none' } as never;
    // when: the invocation's deadline has passed
    await expect(sender.prepare([record], { deadline: Date.now() - 1 })(record)).rejects.toThrow(/not started/);
    expect(w.sim.messages()).toEqual([]);
    expect((await w.outcome(tenant.tenantId, msg.id)).recipients).toEqual([]);
    // then: the next invocation, with time, delivers all three
    await sender.prepare([record], { deadline: Date.now() + 60_000 })(record);
    expect(w.sim.messages().map((m) => m.to).sort()).toEqual(['cidA==', 'cidB==', 'user1']);
  });

  it('a fresh claim belongs to an attempt still running: skipped, not sent twice', async () => {
    // given: another invocation is sending to user1 right now
    const tenant = await w.aTenantWith({ users: [{ userId: 'user1' }, { userId: 'user2' }] });
    const msg = aNotify(tenant, { to: { userIds: ['user1', 'user2'] } });
    const running = new Outcomes(w.table, tenant.tenantId, msg.id, Date.now);
    await running.begin({ kind: 'notify', hash: contentHash(msg) });
    await running.claim('user', 'user1', 'running-attempt');
    // when
    await w.send(msg);
    await w.deliver();
    // then
    expect(w.sim.messages().map((m) => m.to)).toEqual(['user2']);
    const o = await w.outcome(tenant.tenantId, msg.id);
    expect(statuses(o)).toEqual({ 'user user1': 'pending', 'user user2': 'sent' });
    // and the message is deferred until that claim's lease ends, never taken for done
    expect(o.message).toMatchObject({ state: 'retrying' });
  });
});

describe('redriving a dead-lettered message', () => {
  it('only the recipients that failed are tried again', async () => {
    // given: a group that did not exist yet; the users got the message
    const tenant = await w.aTenantWith({ users: people(3) });
    const msg = aNotify(tenant, { to: { userIds: ['p1', 'p2', 'p3'], openConversationIds: ['cidLate=='] } });
    await w.send(msg);
    await w.deliver();
    const [dead] = await w.takeDeadLetters();
    expect(dead.reason).toContain('group cidLate==: invalid.openConversationId');
    // when: the group exists now and the operator redrives the dead letter
    w.sim.reset();
    w.sim.addGroup(tenant.corpId, { openConversationId: 'cidLate==' });
    await w.sqs.send(new SendMessageCommand({ QueueUrl: w.aws.notifyQueueUrl, MessageBody: dead.body }));
    await w.deliver();
    // then
    expect(w.sim.messages().map((m) => m.to)).toEqual(['cidLate==']);
    expect(statuses(await w.outcome(tenant.tenantId, msg.id))).toMatchObject({ 'group cidLate==': 'sent', 'user p1': 'sent' });
  });
});

describe('a message failing again and again ends in the DLQ, however many copies it had', () => {
  it('failed attempts are counted on the record: a fresh copy (receive count 1 again) still gives up after 8', async () => {
    const tenant = await w.aTenantWith({ groups: [{ openConversationId: 'cidFlaky==' }] });
    const msg = aNotify(tenant, { to: { openConversationIds: ['cidFlaky=='] } });
    w.sim.inject({ api: 'groupSend', kind: '5xx', count: 100 });
    const sender = createSender({ table: w.table, sqs: w.sqs, client: new DingTalkClient({ apiUrl: w.sim.url, oapiUrl: w.sim.oapiUrl }), dlqUrl: w.aws.notifyDlqUrl, queueUrl: w.aws.notifyQueueUrl, retry: { baseSeconds: 0 } });
    // every attempt runs on a fresh copy, as a deferred re-queue makes one: its receive count is 1
    const attempt = (n: number) => sender.processRecord({ messageId: `copy-${n}`, receiptHandle: `r-${n}`, body: JSON.stringify(msg), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:none' } as never);
    for (let n = 1; n < 8; n++) await expect(attempt(n)).rejects.toThrow();
    const last = await attempt(8);
    expect(last).toMatchObject({ verdict: 'deadLetter', reason: expect.stringMatching(/^gave up after 8 attempts/) });
    expect((await w.takeDeadLetters()).map((d) => d.notifyId)).toEqual([msg.id]);
  });
});

