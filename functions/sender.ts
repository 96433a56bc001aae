import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { loadConfig, required } from '../lib/contracts/env';
import { DingTalkClient } from '../lib/dingtalk/client';
import { callDeadline, createSender } from '../lib/sender/createSender';
import { createShaping } from '../lib/shaping/createShaping';
import { logger } from '../lib/log';
import { metrics, publishMetrics } from '../lib/metrics';
import { createTable } from '../lib/store/table';
import { cachedTenants } from '../lib/store/tenantCache';

const config = loadConfig();
const sqs = new SQSClient({});
const table = createTable(config.TABLE_NAME);
const tenants = cachedTenants(table, 10_000);
const shaping = createShaping(table, tenants, { metrics });
const sender = createSender({
  table,
  sqs,
  client: new DingTalkClient({ apiUrl: config.DINGTALK_API_URL, oapiUrl: config.DINGTALK_OAPI_URL, timeoutMs: config.DINGTALK_TIMEOUT_MS }),
  dlqUrl: required(config, 'NOTIFY_DLQ_URL'),
  queueUrl: config.NOTIFY_QUEUE_URL,
  retry: { baseSeconds: config.NOTIFY_RETRY_BASE_SECONDS },
  getTenant: tenants,
  gate: shaping.gate,
  precheck: shaping.precheck,
  park: shaping.park,
  metrics,
});

/**
 * Notify queue consumer: Flashduty notifications -> DingTalk users and groups (partial batch
 * responses). Identical notifications in one batch share their batchSend calls (sender.prepare); no
 * call starts too late to finish inside the invocation. One batch processor per invocation: it holds
 * the invocation's results.
 */
export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, sender.prepare(event.Records, { deadline: callDeadline(context, config.DINGTALK_TIMEOUT_MS) }), new BatchProcessor(EventType.SQS), {
    context,
    throwOnFullBatchFailure: false,
  }),
)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics));
