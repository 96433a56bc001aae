import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig, required } from '../lib/contracts/env';
import { logger } from '../lib/log';
import { metrics, publishMetrics } from '../lib/metrics';
import { unparkAll } from '../lib/quota/unpark';
import { createTable } from '../lib/store/table';

const config = loadConfig();
const deps = {
  table: createTable(config.TABLE_NAME),
  sqs: new SQSClient({}),
  queueUrl: required(config, 'NOTIFY_QUEUE_URL'),
  dlqUrl: required(config, 'NOTIFY_DLQ_URL'),
  metrics,
};

/**
 * Scheduled: sends messages parked for the monthly quota back to the notify queue once there is
 * room. Throws when any organisation's sweep failed (after trying every one), so the errors alarm fires.
 */
export const handler = middy(async () => {
  const results = await unparkAll(deps);
  const requeued = results.reduce((n, r) => n + r.requeued, 0);
  if (requeued) logger.info('parked messages re-queued', { requeued, results });
  return { requeued };
})
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics));
