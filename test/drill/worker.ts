/**
 * One "Lambda instance" of the fault drill: the real sender and drain handlers (functions/sender.ts,
 * functions/drain.ts) invoked by local pollers on the notify and drain queues, in a process of its
 * own so the drill can kill it with SIGKILL mid-batch, as Lambda does on a timeout or a crash. Configuration comes from the
 * environment the drill sets (local endpoints, table, queues, simulator).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { QUEUES } from '../../lib/contracts/deployment';
import { pollerSettings, startPoller, type SqsHandler } from '../../infra/local/poller';

async function main(): Promise<void> {
  const { handler } = (await import('../../functions/sender')) as unknown as { handler: SqsHandler };
  const drain = ((await import('../../functions/drain')) as unknown as { handler: SqsHandler }).handler;
  const { logger } = await import('../../lib/log');
  logger.setLogLevel('SILENT');
  startPoller({
    sqs: new SQSClient({}),
    queueUrl: process.env.NOTIFY_QUEUE_URL!,
    handler,
    functionName: 'sender',
    concurrency: Number(process.env.DRILL_WORKER_CONCURRENCY ?? 2),
    ...pollerSettings(QUEUES.notify),
    waitTimeSeconds: 1,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  startPoller({
    sqs: new SQSClient({}),
    queueUrl: process.env.DRAIN_QUEUE_URL!,
    handler: drain,
    functionName: 'drain',
    concurrency: 1,
    ...pollerSettings(QUEUES.drain),
    waitTimeSeconds: 1,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  process.send?.('ready');
}

void main();
