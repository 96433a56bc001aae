import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleCallback } from '../lib/callback/handleCallback';
import { loadConfig, required } from '../lib/contracts/env';
import { httpErrors, json } from '../lib/http/json';
import { logger } from '../lib/log';
import { sendJson } from '../lib/queue/sqs';
import { createTable } from '../lib/store/table';
import { getCallbackApp } from '../lib/store/secrets';
import { cachedTenants } from '../lib/store/tenantCache';
import { traced, tracer } from '../lib/tracer';

const config = loadConfig();
const table = createTable(config.TABLE_NAME);
const sqs = traced(new SQSClient({}));
const eventsQueueUrl = required(config, 'EVENTS_QUEUE_URL');
// Only its own secret item (SECRET#CALLBACK#<tenantId>), one GetItem; unknown ids remembered 10 s.
const callbackApps = cachedTenants((id) => getCallbackApp(table, id), { missesOnly: true });

/** POST /dingtalk/{tenantId}/callback: DingTalk's signed, encrypted event push. */
export const handler = middy(async (event: APIGatewayProxyEventV2) => {
  const tenantId = event.pathParameters?.tenantId ?? '';
  logger.appendKeys({ tenantId });
  const out = await handleCallback(
    {
      getTenant: callbackApps,
      enqueue: async (e) => void (await sendJson(sqs, eventsQueueUrl, e, { groupId: e.tenantId })),
      now: Date.now,
      windowSeconds: config.CALLBACK_WINDOW_SECONDS,
    },
    { tenantId, query: event.queryStringParameters ?? {}, body: event.body, isBase64Encoded: event.isBase64Encoded },
  );
  logger.info('callback accepted', { eventType: out.eventType, eventId: out.eventId, queued: out.queued, previousSecret: out.previousSecret });
  return json(200, out.envelope);
})
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors());
