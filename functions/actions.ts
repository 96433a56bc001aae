import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { handleAction, type ActionDeps } from '../lib/actions/handleAction';
import { QUEUES } from '../lib/contracts/deployment';
import { loadConfig, required } from '../lib/contracts/env';
import { logger } from '../lib/log';
import { deadLetter } from '../lib/queue/deadLetter';
import { sendJson, sendText } from '../lib/queue/sqs';
import { delayRedelivery } from '../lib/sender/backoff';
import { getFlashdutyAppKey } from '../lib/store/secrets';
import { createTable } from '../lib/store/table';
import { cachedTenants } from '../lib/store/tenantCache';
import { getTenant } from '../lib/store/tenants';
import { traced, tracer } from '../lib/tracer';

const config = loadConfig();
const table = createTable(config.TABLE_NAME);
const sqs = traced(new SQSClient({}));

/**
 * Actions queue consumer (docs/two-way.md, "Actions to Flashduty"): each verified button press (or
 * member link) handed to Flashduty once, by the outbound queue or the Flashduty Open API (partial
 * batch responses: a record to retry comes back after its backoff, the others are done).
 */
const outboundUrl = required(config, 'FLASHDUTY_ACTIONS_QUEUE_URL');
const notifyUrl = required(config, 'NOTIFY_QUEUE_URL');
const dlqUrl = required(config, 'ACTIONS_DLQ_URL');
const queueUrl = required(config, 'ACTIONS_QUEUE_URL');
const deps: ActionDeps = {
  table,
  // The record (actionsVia), cached 10 s like every tenant lookup; the APP Key read when it is used.
  getTenant: cachedTenants((id) => getTenant(table, id)),
  getAppKey: (id) => getFlashdutyAppKey(table, id),
  sendOutbound: async (body, tenantId) => void (await sendText(sqs, outboundUrl, body, { groupId: tenantId })),
  sendNotify: async (message, tenantId) => void (await sendJson(sqs, notifyUrl, message, { groupId: tenantId })),
  deadLetter: async (body, info) => void (await deadLetter(sqs, dlqUrl, body, info)),
  delay: (r, seconds) => delayRedelivery(sqs, queueUrl, r.receiptHandle, seconds),
  flashduty: { baseUrl: config.FLASHDUTY_API_URL },
  retry: { baseSeconds: config.ACTIONS_RETRY_BASE_SECONDS, capSeconds: 300, maxReceiveCount: QUEUES.actions.maxReceiveCount },
  now: Date.now,
};

export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(
    event,
    (record: SQSRecord) => handleAction(deps, record),
    new BatchProcessor(EventType.SQS),
    { context, throwOnFullBatchFailure: false },
  ),
)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }));
