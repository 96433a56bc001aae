import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { startPoller, succeededIds, type Poller, type PollerLogger } from '../../../infra/local/poller';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startSqsLocal, type Running } from '../../../infra/local/services';

/**
 * The local poller against the real SQS server (local-aws-sqs): it must invoke a handler exactly as
 * Lambda's SQS event source does, including partial batch failures, visibility timeout and redrive.
 */

let server: Running;
let sqs: SQSClient;
const pollers: Poller[] = [];
const quiet: PollerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  server = await startSqsLocal();
  sqs = new SQSClient({ endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
});

// ---- small factories ----------------------------------------------------------------------------

async function aQueue(opts: { visibilityTimeout?: number; maxReceiveCount?: number } = {}) {
  const name = `q-${randomBytes(4).toString('hex')}`;
  const arnOf = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  let dlqUrl: string | undefined;
  const attributes: Record<string, string> = { VisibilityTimeout: String(opts.visibilityTimeout ?? 30) };
  if (opts.maxReceiveCount) {
    dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: await arnOf(dlqUrl), maxReceiveCount: opts.maxReceiveCount });
  }
  const url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
  return { url, arn: await arnOf(url), dlqUrl };
}

const send = async (queueUrl: string, body: string, attrs?: Record<string, string>) =>
  (
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageAttributes: attrs && Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
      }),
    )
  ).MessageId!;

/** A handler that records every invocation and answers with `respond` (default: all succeeded). */
function aRecordingHandler(respond: (event: SQSEvent, call: number) => Promise<SQSBatchResponse | void> | SQSBatchResponse | void = () => undefined) {
  const calls: { event: SQSEvent; context: Context }[] = [];
  const handler = async (event: SQSEvent, context: Context) => {
    calls.push({ event, context });
    return respond(event, calls.length);
  };
  const records = () => calls.flatMap((c) => c.event.Records);
  return { handler, calls, records };
}

function poll(queue: { url: string; arn?: string }, handler: Parameters<typeof startPoller>[0]['handler'], over: Partial<Parameters<typeof startPoller>[0]> = {}) {
  const p = startPoller({
    sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    handler,
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    functionName: 'test-fn',
    logger: quiet,
    waitTimeSeconds: 1,
    ...over,
  });
  pollers.push(p);
  return p;
}

async function until<T>(probe: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Messages on a queue, visible or in flight (read without receiving, so counts stay untouched). */
const depth = async (queueUrl: string) => {
  const a = (
    await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    )
  ).Attributes!;
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
};

/** Takes the messages off a queue (the DLQ, in these tests). */
const drain = async (queueUrl: string) =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))).Messages ?? [];

// ---- behaviour ----------------------------------------------------------------------------------

describe('succeededIds (which messages Lambda deletes after an invocation)', () => {
  const ids = ['a', 'b', 'c'];
  it.each([
    ['no response', undefined],
    ['null', null],
    ['an empty object', {}],
    ['an empty list', { batchItemFailures: [] }],
    ['a null list', { batchItemFailures: null }],
  ])('%s means every message succeeded', (_, response) => {
    expect(succeededIds(ids, response)).toEqual(ids);
  });

  it('listed failures stay, the rest are deleted', () => {
    expect(succeededIds(ids, { batchItemFailures: [{ itemIdentifier: 'b' }] })).toEqual(['a', 'c']);
  });

  it.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a wrong key', { batchItemFailures: [{ id: 'a' }] }],
    ['an unknown message id', { batchItemFailures: [{ itemIdentifier: 'zzz' }] }],
    ['a non-list', { batchItemFailures: 'a' }],
    ['a string response', 'ok'],
  ])('%s fails the whole batch', (_, response) => {
    expect(succeededIds(ids, response)).toBeNull();
  });
});

describe('the local SQS poller', () => {
  it('hands the handler records in Lambda’s exact shape and deletes them after success', async () => {
    // given
    const q = await aQueue();
    const id = await send(q.url, '{"hello":"世界"}', { trace: 't-1' });
    const h = aRecordingHandler();
    // when
    poll(q, h.handler);
    await until(() => h.calls.length === 1);
    // then
    const r: SQSRecord = h.records()[0];
    expect(Object.keys(r)).toEqual([
      'messageId',
      'receiptHandle',
      'body',
      'attributes',
      'messageAttributes',
      'md5OfBody',
      'md5OfMessageAttributes',
      'eventSource',
      'eventSourceARN',
      'awsRegion',
    ]);
    expect(r).toMatchObject({
      messageId: id,
      body: '{"hello":"世界"}',
      eventSource: 'aws:sqs',
      eventSourceARN: q.arn,
      awsRegion: LOCAL_REGION,
      messageAttributes: { trace: { stringValue: 't-1', stringListValues: [], binaryListValues: [], dataType: 'String' } },
    });
    expect(r.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.keys(r.attributes).sort()).toEqual(['ApproximateFirstReceiveTimestamp', 'ApproximateReceiveCount', 'SenderId', 'SentTimestamp']);
    expect(r.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(r.attributes.SentTimestamp)).toBeGreaterThan(0);
    const ctx = h.calls[0].context;
    expect(ctx.functionName).toBe('test-fn');
    expect(ctx.invokedFunctionArn).toMatch(/^arn:aws:lambda:us-east-1:\d+:function:test-fn$/);
    expect(ctx.getRemainingTimeInMillis()).toBeGreaterThan(20_000);
    await until(async () => (await depth(q.url)) === 0);
  });

  it('gathers up to batchSize messages within the batching window', async () => {
    // given
    const q = await aQueue();
    const h = aRecordingHandler();
    poll(q, h.handler, { batchSize: 4, maxBatchingWindowSeconds: 1 });
    // when: messages arrive one by one, faster than the window
    for (let i = 0; i < 6; i++) {
      await send(q.url, `m${i}`);
      await new Promise((r) => setTimeout(r, 30));
    }
    await until(() => h.records().length === 6);
    // then
    expect(h.calls.every((c) => c.event.Records.length <= 4)).toBe(true);
    expect(h.calls[0].event.Records.length).toBe(4);
    expect(h.records().map((r) => r.body).sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('leaves a reported failure on the queue; it comes back with ApproximateReceiveCount 2 while its neighbours are gone', async () => {
    // given: a 1-second visibility timeout, and a handler that fails "bad" the first time
    const q = await aQueue({ visibilityTimeout: 1 });
    const h = aRecordingHandler((event, call) => ({
      batchItemFailures: call === 1 ? event.Records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })) : [],
    }));
    await send(q.url, 'good-1');
    await send(q.url, 'bad');
    await send(q.url, 'good-2');
    // when
    poll(q, h.handler);
    await until(() => h.records().filter((r) => r.body === 'bad').length === 2);
    // then
    const bad = h.records().filter((r) => r.body === 'bad');
    expect(bad.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(h.records().filter((r) => r.body.startsWith('good')).map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '1']);
    expect(h.calls[0].event.Records).toHaveLength(3);
    await until(async () => (await depth(q.url)) === 0);
  });

  it('leaves the whole batch when the handler throws', async () => {
    // given
    const q = await aQueue({ visibilityTimeout: 1 });
    const h = aRecordingHandler((_, call) => {
      if (call === 1) throw new Error('boom');
    });
    await send(q.url, 'a');
    await send(q.url, 'b');
    // when
    poll(q, h.handler);
    await until(() => h.records().length === 4);
    // then: both came back for a second attempt (in one batch or two, as the visibility timeouts fall)
    const retried = h.calls.slice(1).flatMap((c) => c.event.Records);
    expect(retried.map((r) => `${r.body}:${r.attributes.ApproximateReceiveCount}`).sort()).toEqual(['a:2', 'b:2']);
  });

  it('a message failing maxReceiveCount times is moved to the DLQ by the SQS server (RedrivePolicy)', async () => {
    // given: maxReceiveCount 2, and a handler that always fails "poison"
    const q = await aQueue({ visibilityTimeout: 1, maxReceiveCount: 2 });
    const h = aRecordingHandler((event) => ({
      batchItemFailures: event.Records.filter((r) => r.body === 'poison').map((r) => ({ itemIdentifier: r.messageId })),
    }));
    const poisonId = await send(q.url, 'poison');
    await send(q.url, 'fine');
    // when
    poll(q, h.handler);
    const inDlq = await until(async () => (await drain(q.dlqUrl!)).find((m) => m.MessageId === poisonId), 20_000);
    // then
    expect(inDlq.Body).toBe('poison');
    expect(h.records().filter((r) => r.body === 'poison').map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(h.records().filter((r) => r.body === 'fine')).toHaveLength(1);
    expect(await depth(q.url)).toBe(0);
  }, 30_000);

  it('an invocation running past the timeout counts as failed and its batch stays', async () => {
    // given
    const q = await aQueue({ visibilityTimeout: 1 });
    const h = aRecordingHandler(async (_, call) => {
      if (call === 1) await new Promise((r) => setTimeout(r, 1500));
    });
    await send(q.url, 'slow');
    // when
    poll(q, h.handler, { timeoutSeconds: 0.5 });
    await until(() => h.calls.length >= 2);
    // then
    expect(h.calls[1].event.Records[0].attributes.ApproximateReceiveCount).toBe('2');
  });

  it('runs `concurrency` invocations side by side, and stop() waits for the ones in flight', async () => {
    // given
    const q = await aQueue();
    let inFlight = 0;
    let maxInFlight = 0;
    let finished = 0;
    const handler = async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 300));
      inFlight -= 1;
      finished += 1;
    };
    for (let i = 0; i < 8; i++) await send(q.url, `m${i}`);
    // when
    const p = poll(q, handler, { batchSize: 1, concurrency: 4 });
    await until(() => inFlight > 0 && maxInFlight >= 4);
    const started = finished;
    await p.stop();
    // then
    expect(maxInFlight).toBe(4);
    expect(inFlight).toBe(0);
    expect(finished).toBeGreaterThan(started);
  });

  it('scales with a backlog up to maxConcurrency, as the SQS event source does, and back down when the queue is empty', async () => {
    // given: a backlog of 60 messages and a slow handler
    const q = await aQueue();
    let inFlight = 0;
    let maxInFlight = 0;
    const handler = async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 200));
      inFlight -= 1;
    };
    for (let i = 0; i < 60; i++) await send(q.url, `m${i}`);
    // when: one loop always, at most three under the backlog
    const p = poll(q, handler, { batchSize: 2, concurrency: 1, maxConcurrency: 3 });
    await until(() => maxInFlight >= 3);
    await until(async () => (await depth(q.url)) === 0);
    // then: never more than three at once, and back to one when the backlog is gone
    expect(maxInFlight).toBe(3);
    await until(() => p.concurrency === 1, 10_000);
    await p.stop();
  });
});
