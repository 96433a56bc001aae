import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Readable } from 'node:stream';
import { toSqsRecord } from '../../../infra/local/poller';
import { runDlqCli } from '../../../lib/cli/dlq';
import type { Input } from '../../../lib/cli/prompt';
import { QUEUES } from '../../../lib/contracts/deployment';
import { aTenant, lambdaContext } from '../../support/factories';
import { aNotify, useWorld } from '../../support/world';

/**
 * `npm run dlq` on the real local SQS server, with what the real functions dead-letter: the sender
 * (notify), the events function (events) and SQS's own redrive (drain).
 */

const w = useWorld();

// The local SQS server answers a short poll with everything visible: no need to wait 1 s on each empty receive.
/** A terminal on which the operator types `answer`. */
const terminal = (answer: string): Input => Object.assign(Readable.from([answer]), { isTTY: true });

async function cli(args: string[], stdin: Input = Readable.from([]), sqs: typeof w.sqs = w.sqs) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDlqCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), sqs, table: w.table, stdin, waitSeconds: 0 });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Receives and deletes everything on a queue; the bodies. */
async function takeAll(queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const r = await w.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!r.Messages?.length) return bodies;
    for (const m of r.Messages) {
      bodies.push(m.Body!);
      await w.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

describe('npm run dlq', () => {
  it("list shows why each message was dead-lettered, with its kind, tenant and id, and leaves it there; never the message's text", async () => {
    // given: the sender dead-letters a message for a tenant nobody registered, and one of an unknown version
    const stranger = aTenant();
    const orphan = aNotify(stranger);
    const v2 = { ...aNotify(stranger), version: 2 };
    await w.send(orphan);
    await w.send(v2);
    await w.deliver();
    // when
    const r = await cli(['list', '--queue', 'notify']);
    // then
    expect(r.code).toBe(0);
    expect(r.out).toContain('notify DLQ: 2 message(s)');
    expect(r.out).toContain(`notify  ${stranger.tenantId}  ${orphan.id}  unknown tenant ${stranger.tenantId}`);
    expect(r.out).toContain(`notify  ${stranger.tenantId}  ${v2.id}  unsupported version 2`);
    expect(r.out).not.toContain('支付服务');
    expect((await w.takeDeadLetters()).map((d) => d.notifyId).sort()).toEqual([orphan.id, v2.id].sort());
  });

  it('redrive sends a message back once its cause is over, and the sender then delivers it', async () => {
    // given: DingTalk answered 5xx on the message's last receive, so the sender gave up on it
    const tenant = await w.aTenantWith();
    const msg = aNotify(tenant);
    await w.send(msg);
    const [record] = await w.receive();
    record.attributes.ApproximateReceiveCount = String(QUEUES.notify.maxReceiveCount);
    w.sim.inject({ api: 'batchSend', kind: '5xx', count: 1 });
    await w.invoke([record]);
    expect((await cli(['list', '--queue', 'notify'])).out).toMatch(new RegExp(`${msg.id}  gave up after ${QUEUES.notify.maxReceiveCount} attempts`));
    // when: DingTalk is back
    const r = await cli(['redrive', '--queue', 'notify']);
    await w.deliver();
    // then
    expect(r).toMatchObject({ code: 0, out: expect.stringContaining('notify DLQ: 1 sent back to the notify queue, 0 skipped') });
    expect(w.sim.messages().map((m) => m.to)).toEqual(['user1']);
    expect((await w.outcome(tenant.tenantId, msg.id)).message).toMatchObject({ state: 'done' });
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('redrive leaves what can never succeed in the DLQ, unless --force', async () => {
    // given: an invalid message, and one for a tenant that is still not registered
    const invalid = { ...aNotify(await w.aTenantWith()), to: {} };
    const stranger = aTenant();
    const orphan = aNotify(stranger);
    await w.send(invalid);
    await w.send(orphan);
    await w.deliver();
    // when
    const kept = await cli(['redrive', '--queue', 'notify']);
    const forced = await cli(['redrive', '--queue', 'notify', '--force']);
    // then: skipped with the reason, still there for --force, which sends both back
    expect(kept.code).toBe(0);
    expect(kept.out).toContain('notify DLQ: 0 sent back to the notify queue, 2 skipped (--force sends them anyway)');
    expect(kept.out).toContain(`${orphan.id}: can never succeed: tenant ${stranger.tenantId} is not registered`);
    expect(kept.out).toMatch(new RegExp(`${invalid.id}: can never succeed: invalid message: to: at least one of`));
    expect(forced.out).toContain('notify DLQ: 2 sent back to the notify queue, 0 skipped');
    await w.deliver();
    expect((await w.takeDeadLetters()).map((d) => d.reason)).toEqual(expect.arrayContaining([`unknown tenant ${stranger.tenantId}`, expect.stringMatching(/^invalid message: /)]));
  });

  it('redrive --force against a live sender sends each message back once: what fails again waits for the next run', async () => {
    // given: an invalid message in the DLQ, and a sender that handles the notify queue at once (as Lambda does)
    await w.send({ ...aNotify(await w.aTenantWith()), to: {} });
    await w.deliver();
    const live = new Proxy(w.sqs, {
      get: (target, key) =>
        key !== 'send'
          ? Reflect.get(target, key)
          : async (command: Parameters<typeof w.sqs.send>[0]) => {
              const r = await target.send(command);
              if (command instanceof SendMessageCommand && command.input.QueueUrl === w.aws.notifyQueueUrl) await w.deliver();
              return r;
            },
    });
    // when
    const forced = await cli(['redrive', '--queue', 'notify', '--force'], Readable.from([]), live);
    // then: sent back once (not round and round); its new dead letter is there for the next run
    expect(forced.out).toContain('notify DLQ: 1 sent back to the notify queue, 0 skipped');
    expect(await w.takeDeadLetters()).toHaveLength(1);
  });

  it('purge asks first: without a yes, or without a terminal to ask at, it deletes nothing; --yes purges', async () => {
    // given
    await w.send(aNotify(aTenant()));
    await w.deliver();
    // when: the operator answers no; then runs it where nobody can answer
    const no = await cli(['purge', '--queue', 'notify'], terminal('n\n'));
    const unattended = await cli(['purge', '--queue', 'notify']);
    // then
    expect(no).toMatchObject({ code: 1, err: expect.stringContaining('delete every message of the notify DLQ') });
    expect(no.err).toContain('notify DLQ: not purged');
    expect(unattended).toMatchObject({ code: 1, err: expect.stringContaining('add --yes') });
    expect((await cli(['list', '--queue', 'notify'])).out).toContain('notify DLQ: 1 message(s)');
    // when: --yes
    const yes = await cli(['purge', '--queue', 'notify', '--yes']);
    // then
    expect(yes).toMatchObject({ code: 0, out: expect.stringContaining('notify DLQ: purged') });
    expect(await w.takeDeadLetters()).toEqual([]);
  });

  it('an event the events function dead-lettered is listed with every DLQ, and redrive keeps it (it can never succeed)', async () => {
    // given: a rename without openConversationId, through the real events function
    const events = ((await import('../../../functions/events')) as unknown as { handler: (e: SQSEvent, c: Context) => Promise<SQSBatchResponse> }).handler;
    const eventId = `ev-${Date.now()}`;
    const body = { tenantId: 'acme', eventId, eventType: 'chat_update_title', receivedAt: new Date().toISOString(), event: { EventType: 'chat_update_title', title: 'x' } };
    await w.sqs.send(new SendMessageCommand({ QueueUrl: w.aws.eventsQueueUrl, MessageBody: JSON.stringify(body) }));
    const received = await w.sqs.send(new ReceiveMessageCommand({ QueueUrl: w.aws.eventsQueueUrl, WaitTimeSeconds: 1, AttributeNames: ['All'] }));
    const [m] = received.Messages!;
    expect(await events({ Records: [toSqsRecord(m, 'arn:aws:sqs:us-east-1:000000000000:events')] }, { ...lambdaContext, functionName: 'events' })).toEqual({ batchItemFailures: [] });
    await w.sqs.send(new DeleteMessageCommand({ QueueUrl: w.aws.eventsQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
    // when
    const listed = await cli(['list']);
    const kept = await cli(['redrive', '--queue', 'events']);
    // then
    expect(listed.out).toMatch(/notify DLQ: 0 message\(s\)[\s\S]*events DLQ: 1 message\(s\)[\s\S]*drain DLQ: 0 message\(s\)/);
    expect(listed.out).toContain(`chat_update_title  acme  ${eventId}  chat_update_title event has no openConversationId`);
    expect(kept.out).toContain(`${eventId}: can never succeed: chat_update_title event has no openConversationId`);
    expect((await takeAll(w.aws.eventsDlqUrl)).map((b) => JSON.parse(b).eventId)).toEqual([eventId]);
  });

  it('a drain request SQS gave up on is found in the drain DLQ (from the queue\'s redrive policy), listed and sent back', async () => {
    // given: a drain request whose every receive failed, as a crashing drain function would
    const request = JSON.stringify({ clientId: `dingstuck${Date.now()}` });
    await w.sqs.send(new SendMessageCommand({ QueueUrl: w.aws.drainQueueUrl, MessageBody: request }));
    for (let receives = 0; receives < QUEUES.drain.maxReceiveCount; ) {
      const r = await w.sqs.send(new ReceiveMessageCommand({ QueueUrl: w.aws.drainQueueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 0 }));
      receives += r.Messages?.length ?? 0;
    }
    // when
    const listed = await w.until(async () => {
      const r = await cli(['list', '--queue', 'drain']);
      return r.out.includes('drain DLQ: 1 message(s)') && r;
    });
    const r = await cli(['redrive', '--queue', 'drain']);
    // then
    expect(listed.out).toContain(`drain  -  ${JSON.parse(request).clientId}  no reason recorded: SQS moved it after ${QUEUES.drain.maxReceiveCount} receives that failed`);
    expect(r.out).toContain('drain DLQ: 1 sent back to the drain queue, 0 skipped');
    expect(await takeAll(w.aws.drainQueueUrl)).toEqual([request]);
    expect(await takeAll(w.aws.drainDlqUrl)).toEqual([]);
  });

  it('says which variables to set when no queue URL is known', async () => {
    const saved = { ...process.env };
    for (const k of ['NOTIFY_QUEUE_URL', 'EVENTS_QUEUE_URL', 'DRAIN_QUEUE_URL', 'ACTIONS_QUEUE_URL']) delete process.env[k];
    try {
      expect(await cli(['list'])).toMatchObject({ code: 2, err: expect.stringContaining('NOTIFY_QUEUE_URL, EVENTS_QUEUE_URL, DRAIN_QUEUE_URL, ACTIONS_QUEUE_URL not set') });
      expect(await cli(['frobnicate'])).toMatchObject({ code: 2, err: expect.stringContaining('usage: npm run dlq') });
    } finally {
      process.env = saved;
    }
  });
});
