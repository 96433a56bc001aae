import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig } from '../lib/contracts/env';
import { createEventBatchHandler, sqsDeadLetter } from '../lib/events';
import { logger } from '../lib/log';
import { EventDedupeStore } from '../lib/store/eventDedupe';
import { createTable, dynamoDbClient } from '../lib/store/table';
import { traced, tracer } from '../lib/tracer';

const config = loadConfig();
const dynamo = dynamoDbClient();
const sqs = traced(new SQSClient({}));

/** Events queue consumer: chat renamed, cool app installed / uninstalled -> DynamoDB (partial batch responses). */
export const handler = middy(
  createEventBatchHandler({
    table: createTable(config.TABLE_NAME, dynamo),
    dedupe: new EventDedupeStore({ tableName: config.TABLE_NAME, client: dynamo }),
    deadLetter: config.EVENTS_DLQ_URL ? sqsDeadLetter(sqs, config.EVENTS_DLQ_URL) : undefined,
    now: Date.now,
  }),
)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }));
