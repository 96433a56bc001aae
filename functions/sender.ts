import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../lib/contracts/env';
import { wireLanes } from '../lib/lanes/wiring';
import { callDeadline } from '../lib/sender/createSender';
import { logger } from '../lib/log';
import { publishMetrics } from '../lib/metrics';
import { tracer } from '../lib/tracer';

const config = loadConfig();
const { lanes } = wireLanes(config);

/**
 * Notify queue consumer: Flashduty notifications -> DingTalk users and groups (partial batch
 * responses). Split by app: an app whose lane is free is served at once, under its lane; an app
 * whose lane is held (a tenant in a storm) has its messages moved to its backlog, which the lane's
 * holder drains at the app's pace (lib/lanes). No call starts too late to finish inside the
 * invocation. One batch processor per invocation: it holds the invocation's results.
 */
export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(event, lanes.route(event.Records, { deadline: callDeadline(context, config.DINGTALK_TIMEOUT_MS) }), new BatchProcessor(EventType.SQS), {
    context,
    throwOnFullBatchFailure: false,
  }),
)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics());
