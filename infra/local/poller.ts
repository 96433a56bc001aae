import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { randomBytes, randomUUID } from 'node:crypto';
import { logger as defaultLogger } from '../../lib/log';

/**
 * Runs a Lambda SQS handler locally the way Lambda's SQS event source mapping does:
 * - long-polls the queue (all system and message attributes), gathers up to `batchSize` messages
 *   within `maxBatchingWindowSeconds` (see `gather`), and invokes `handler(event, context)` with records in
 *   Lambda's exact shape;
 * - with ReportBatchItemFailures semantics: a response without `batchItemFailures` (or with an
 *   empty list) deletes the whole batch; listed items stay on the queue; a thrown error, a timeout,
 *   or an invalid response (an empty, null or unknown itemIdentifier) leaves the whole batch;
 * - what stays reappears after the queue's visibility timeout with a higher
 *   ApproximateReceiveCount; the SQS server itself moves it to the DLQ after maxReceiveCount
 *   receives (RedrivePolicy), as SQS does for Lambda.
 * `concurrency` receive loops run side by side (Lambda scales pollers the same way), each
 * invoking one batch at a time.
 */

export interface PollerLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | null | undefined>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** The queue's ARN for `eventSourceARN`; looked up with GetQueueAttributes when omitted. */
  queueArn?: string;
  handler: SqsHandler;
  /** Most records per invocation (1-10 here: one ReceiveMessage carries at most 10). */
  batchSize: number;
  /** How long to keep gathering records before invoking with fewer than `batchSize`. */
  maxBatchingWindowSeconds: number;
  /** Parallel receive loops always running, each with at most one invocation in flight (default 1). */
  concurrency?: number;
  /**
   * Most loops when the queue has a backlog (default `concurrency`): like Lambda's SQS event source
   * scaling up to its maximum concurrency, a loop that receives a full batch starts another, and an
   * extra loop that finds the queue empty stops.
   */
  maxConcurrency?: number;
  functionName: string;
  logger?: PollerLogger;
  /** The function's timeout: an invocation still running after it counts as failed (default 30). */
  timeoutSeconds?: number;
  /** Long-polling wait of each ReceiveMessage (default 20, the maximum). */
  waitTimeSeconds?: number;
  memoryLimitInMB?: number;
}

export interface Poller {
  /** Receive loops running now: between `concurrency` and `maxConcurrency`. */
  readonly concurrency: number;
  /** Stops receiving (aborting pending long polls) and waits for the batches in flight. */
  stop(): Promise<void>;
}

/** Poller settings from a queue's entry in QUEUES (lib/contracts/deployment.ts). */
export const pollerSettings = (q: { name: string; batchSize: number; maxBatchingWindowSeconds: number; consumerTimeoutSeconds: number }) => ({
  batchSize: q.batchSize,
  maxBatchingWindowSeconds: q.maxBatchingWindowSeconds,
  timeoutSeconds: q.consumerTimeoutSeconds,
});

const SQS_MAX_MESSAGES = 10;
const OPTIONAL_ATTRIBUTES = ['AWSTraceHeader', 'SequenceNumber', 'MessageGroupId', 'MessageDeduplicationId', 'DeadLetterQueueSourceArn'] as const;

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/**
 * One SQS message as Lambda hands it to the function (SQSRecord).
 *
 * @example
 * toSqsRecord(message, 'arn:aws:sqs:us-east-1:000000000000:dingtalk-events')
 */
export function toSqsRecord(m: Message, eventSourceARN: string): SQSRecord {
  const a = m.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? '',
    SenderId: a.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
  };
  for (const k of OPTIONAL_ATTRIBUTES) if (a[k] !== undefined) attributes[k] = a[k];
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(m.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(v.StringValue !== undefined && { stringValue: v.StringValue }),
      ...(v.BinaryValue !== undefined && { binaryValue: b64(v.BinaryValue) }),
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map(b64),
      dataType: v.DataType ?? 'String',
    };
  }
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: m.MD5OfBody ?? '',
    ...(m.MD5OfMessageAttributes && { md5OfMessageAttributes: m.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion: eventSourceARN.split(':')[3] ?? '',
  };
}

/**
 * The message ids Lambda would delete after an invocation that returned `response`, or `null`
 * when Lambda would treat the whole batch as failed (invalid response).
 *
 * @example
 * succeededIds(['a', 'b'], { batchItemFailures: [{ itemIdentifier: 'b' }] }) // ['a']
 */
export function succeededIds(ids: string[], response: unknown): string[] | null {
  if (response === undefined || response === null) return ids;
  if (typeof response !== 'object' || Array.isArray(response)) return null;
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return ids;
  if (!Array.isArray(failures)) return null;
  const failed = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !ids.includes(id)) return null;
    failed.add(id);
  }
  return ids.filter((id) => !failed.has(id));
}

/** A Lambda context for one invocation; remaining time counts down from `timeoutMs`. */
function invocationContext(functionName: string, queueArn: string, timeoutMs: number, memoryLimitInMB: number): Context {
  const [, , , region = 'us-east-1', account = '000000000000'] = queueArn.split(':');
  const started = Date.now();
  const day = new Date(started).toISOString().slice(0, 10).replace(/-/g, '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:${functionName}`,
    memoryLimitInMB: String(memoryLimitInMB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, started + timeoutMs - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const isAbort = (e: unknown) => (e as { name?: string })?.name === 'AbortError';

/**
 * Starts polling; returns at once. Call `stop()` to end (it waits for batches in flight).
 *
 * @example
 * const poller = startPoller({ sqs, queueUrl, handler, functionName: 'events', concurrency: 2, ...pollerSettings(QUEUES.events) });
 * // ...
 * await poller.stop();
 */
export function startPoller(opts: PollerOptions): Poller {
  const log = opts.logger ?? defaultLogger;
  const batchSize = Math.max(1, Math.min(SQS_MAX_MESSAGES, Math.floor(opts.batchSize)));
  const windowMs = Math.max(0, opts.maxBatchingWindowSeconds) * 1000;
  const waitTimeSeconds = Math.max(0, Math.min(20, opts.waitTimeSeconds ?? 20));
  const timeoutMs = (opts.timeoutSeconds ?? 30) * 1000;
  const memory = opts.memoryLimitInMB ?? 256;
  const abort = new AbortController();
  let running = true;

  let arn: Promise<string> | undefined = opts.queueArn ? Promise.resolve(opts.queueArn) : undefined;
  const queueArn = (): Promise<string> => {
    arn ??= opts.sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: opts.queueUrl, AttributeNames: ['QueueArn'] }), { abortSignal: abort.signal })
      .then((r) => r.Attributes?.QueueArn ?? `arn:aws:sqs:us-east-1:000000000000:${opts.queueUrl.split('/').pop()}`)
      .catch((e) => {
        arn = undefined;
        throw e;
      });
    return arn;
  };

  const receive = async (max: number, wait: number): Promise<Message[]> => {
    const r = await opts.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: opts.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: wait,
        AttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    return r.Messages ?? [];
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });

  /**
   * One long poll for the first message, then top-up receives until the batch is full or the
   * batching window closes (with no window: one immediate top-up, like a single receive of
   * `batchSize`). The first poll asks for one message so it returns the moment one arrives: the
   * local SQS server otherwise holds a long poll until MaxNumberOfMessages are available. A message
   * received twice while gathering (its visibility timeout ran out) is kept once, with its latest
   * receipt handle. After a full batch (a backlog) it first asks for a whole batch without
   * waiting: one receive a batch while the queue is deep.
   */
  const gather = async (backlog: boolean): Promise<Message[]> => {
    const bulk = backlog ? await receive(batchSize, 0) : [];
    if (bulk.length && (bulk.length >= batchSize || windowMs === 0)) return bulk;
    const first = bulk.length ? bulk : await receive(1, waitTimeSeconds);
    if (!first.length) return first;
    const batch = new Map(first.map((m) => [m.MessageId!, m]));
    const deadline = Date.now() + windowMs;
    try {
      do {
        if (batch.size >= batchSize) break;
        const left = deadline - Date.now();
        const wait = left > 0 ? Math.min(20, Math.floor(left / 1000)) : 0;
        const more = await receive(batchSize - batch.size, wait);
        for (const m of more) batch.set(m.MessageId!, m);
        if (!more.length && wait === 0 && left > 0) await sleep(Math.min(left, 50));
      } while (running && Date.now() < deadline);
    } catch (e) {
      // Stopping, or a failed extra receive: invoke with what we have rather than strand it.
      if (!isAbort(e)) log.warn('receive failed while batching', { queueUrl: opts.queueUrl, error: String(e) });
    }
    return [...batch.values()];
  };

  const deleteMessages = async (records: SQSRecord[]) => {
    for (let i = 0; i < records.length; i += SQS_MAX_MESSAGES) {
      const chunk = records.slice(i, i + SQS_MAX_MESSAGES);
      try {
        const r = await opts.sqs.send(
          new DeleteMessageBatchCommand({ QueueUrl: opts.queueUrl, Entries: chunk.map((rec, n) => ({ Id: String(n), ReceiptHandle: rec.receiptHandle })) }),
        );
        if (r.Failed?.length) log.warn('some processed messages could not be deleted and will be redelivered', { functionName: opts.functionName, failed: r.Failed.length });
      } catch (e) {
        log.warn('deleting processed messages failed; they will be redelivered', { functionName: opts.functionName, error: String(e) });
      }
    }
  };

  const invoke = async (messages: Message[]) => {
    const event: SQSEvent = { Records: messages.map((m) => toSqsRecord(m, arnValue)) };
    const context = invocationContext(opts.functionName, arnValue, timeoutMs, memory);
    let timer: NodeJS.Timeout | undefined;
    let response: unknown;
    try {
      response = await Promise.race([
        opts.handler(event, context),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs / 1000} seconds`)), timeoutMs);
        }),
      ]);
    } catch (e) {
      log.error('invocation failed; the whole batch stays on the queue', { functionName: opts.functionName, records: messages.length, error: String(e) });
      return;
    } finally {
      clearTimeout(timer);
    }
    const ids = event.Records.map((r) => r.messageId);
    const ok = succeededIds(ids, response);
    if (ok === null) {
      log.error('invalid batch response; the whole batch stays on the queue', { functionName: opts.functionName, records: ids.length });
      return;
    }
    if (ok.length < ids.length) log.info('batch item failures stay on the queue', { functionName: opts.functionName, failed: ids.length - ok.length, of: ids.length });
    await deleteMessages(event.Records.filter((r) => ok.includes(r.messageId)));
  };

  let arnValue = opts.queueArn ?? '';
  const min = Math.max(1, opts.concurrency ?? 1);
  const max = Math.max(min, opts.maxConcurrency ?? min);
  const loops = new Set<Promise<void>>();
  const start = (extra: boolean) => {
    const p: Promise<void> = loop(extra).finally(() => loops.delete(p));
    loops.add(p);
  };
  async function loop(extra: boolean): Promise<void> {
    let full = false;
    while (running) {
      try {
        arnValue = await queueArn();
        const messages = await gather(full);
        full = messages.length >= batchSize;
        if (!messages.length) {
          if (extra) return; // the backlog is gone: scale back down
          continue;
        }
        // A full batch means a backlog: scale up, one loop at a time, as the event source does.
        if (messages.length >= batchSize && loops.size < max) start(true);
        await invoke(messages);
      } catch (e) {
        if (!running || isAbort(e)) break;
        log.warn('receive failed; retrying in 1 s', { queueUrl: opts.queueUrl, error: String(e) });
        await sleep(1000);
      }
    }
  }
  for (let i = 0; i < min; i++) start(false);

  let stopped: Promise<void> | undefined;
  return {
    /** Loops running now (for tests and the local stack's report). */
    get concurrency() {
      return loops.size;
    },
    stop() {
      stopped ??= (async () => {
        running = false;
        abort.abort();
        while (loops.size) await Promise.all([...loops]);
      })();
      return stopped;
    },
  };
}
