import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig, required } from '../lib/contracts/env';
import { logger } from '../lib/log';
import { metrics, publishMetrics } from '../lib/metrics';
import { sweepLanes } from '../lib/lanes/sweep';
import { unparkAll } from '../lib/quota/unpark';
import { createTable } from '../lib/store/table';
import { traced, tracer } from '../lib/tracer';

const config = loadConfig();
const deps = {
  table: createTable(config.TABLE_NAME),
  sqs: traced(new SQSClient({})),
  queueUrl: required(config, 'NOTIFY_QUEUE_URL'),
  dlqUrl: required(config, 'NOTIFY_DLQ_URL'),
  drainQueueUrl: config.DRAIN_QUEUE_URL,
  metrics,
};

/**
 * Scheduled: sends messages parked for the monthly quota back to the notify queue once there is
 * room, and asks for a drain of every app backlog left without a live lane holder (lib/lanes).
 * Throws when any organisation's sweep failed (after trying every one), so the errors alarm fires.
 */
export const handler = middy(async () => {
  const swept = await sweepLanes(deps).then(
    (clientIds) => ({ clientIds }),
    (error: Error) => ({ clientIds: [] as string[], error }),
  );
  if (swept.clientIds.length) logger.warn('backlogs without a live holder: drain requested', { clientIds: swept.clientIds });
  const results = await unparkAll(deps);
  const requeued = results.reduce((n, r) => n + r.requeued, 0);
  if (requeued) logger.info('parked messages re-queued', { requeued, results });
  if ('error' in swept) throw swept.error;
  return { requeued, drained: swept.clientIds.length };
})
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics));
