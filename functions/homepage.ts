import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { loadConfig } from '../lib/contracts/env';
import { homePage, htmlErrors, htmlResponse, publicUrls, tableSources, viewerLocale } from '../lib/homepage';
import { logger } from '../lib/log';
import { createTable } from '../lib/store/table';
import { tracer } from '../lib/tracer';

const config = loadConfig();
const sources = tableSources(createTable(config.TABLE_NAME));

/** GET /dingtalk/{tenantId}/home[?corpId=]: the integration's link status page (HTML), in the viewer's language. */
export const handler = middy(async (event: APIGatewayProxyEventV2) => {
  const tenantId = event.pathParameters?.tenantId ?? '';
  logger.appendKeys({ tenantId });
  const page = await homePage(sources, { tenantId, corpId: event.queryStringParameters?.corpId, urls: publicUrls(event), now: Date.now() }, viewerLocale(event));
  logger.info('homepage served', { state: page.status.state, groups: page.status.groups.length + page.status.moreGroups, lang: page.lang });
  return htmlResponse(page);
})
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(htmlErrors());
