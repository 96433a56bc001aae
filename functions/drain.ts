import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { drainMessageSchema } from '../lib/contracts/drainMessage';
import { loadConfig } from '../lib/contracts/env';
import { wireLanes } from '../lib/lanes/wiring';
import { callDeadline } from '../lib/sender/createSender';
import { logger } from '../lib/log';
import { publishMetrics } from '../lib/metrics';
import { tracer } from '../lib/tracer';

const config = loadConfig();
const { lanes } = wireLanes(config);

/**
 * Drain queue consumer: takes an app's lane and sends its backlog at the app's pace until it is
 * empty or the invocation nears its end, then hands on (lib/lanes). A request for a lane held
 * elsewhere ends at once: its holder drains. A malformed request is logged and dropped (the bridge
 * is its only writer; the backlog itself is never lost: the sweep finds it).
 */
export const handler = middy((event: SQSEvent, context: Context) =>
  processPartialResponse(
    event,
    async (record: SQSRecord) => {
      let body: unknown;
      try {
        body = JSON.parse(record.body);
      } catch {
        body = undefined;
      }
      const parsed = drainMessageSchema.safeParse(body);
      if (!parsed.success) {
        logger.error('malformed drain request: dropped', { sqsMessageId: record.messageId });
        return;
      }
      const r = await lanes.drain(parsed.data.clientId, { deadline: callDeadline(context, config.DINGTALK_TIMEOUT_MS), watch: parsed.data.watch });
      logger.info('drained', { clientId: parsed.data.clientId, ...r });
    },
    new BatchProcessor(EventType.SQS),
    { context, throwOnFullBatchFailure: false },
  ),
)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics());
