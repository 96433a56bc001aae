import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig, required } from '../lib/contracts/env';
import { unparkAll } from '../lib/quota/unpark';
import { logger } from '../lib/log';
import { createTable } from '../lib/store/table';
import { listTenants } from '../lib/store/tenants';

const config = loadConfig();
const table = createTable(config.TABLE_NAME);
const sqs = new SQSClient({});
const queueUrl = required(config, 'NOTIFY_QUEUE_URL');

/** Scheduled: sends messages parked for the monthly quota back to the notify queue once there is room. */
export const handler = middy(async () => {
  const results = await unparkAll({ table, sqs, queueUrl }, await listTenants(table));
  const requeued = results.reduce((n, r) => n + r.requeued, 0);
  if (requeued) logger.info('parked messages re-queued', { requeued, results });
  return { requeued };
}).use(injectLambdaContext(logger, { resetKeys: true }));
