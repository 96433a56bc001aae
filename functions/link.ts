import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { loadConfig } from '../lib/contracts/env';
import { viewerLocale } from '../lib/homepage';
import { json } from '../lib/http/json';
import { handleLink } from '../lib/links/handleLink';
import { linkErrors, linkHtmlResponse, linkPage } from '../lib/links/linkPage';
import { wireLink } from '../lib/links/wiring';
import { logger } from '../lib/log';
import { tracer } from '../lib/tracer';

const deps = wireLink(loadConfig());

/**
 * GET /link/{tenantId}?m=&e=&s=: the link page (HTML, in the viewer's language); POST
 * /link/{tenantId}: the page's auth code, linking the DingTalk user to the member (JSON).
 * docs/two-way.md, "Linking".
 */
export const handler = middy(async (event: APIGatewayProxyEventV2) => {
  const tenantId = event.pathParameters?.tenantId ?? '';
  logger.appendKeys({ tenantId });
  if (event.requestContext?.http?.method === 'GET') {
    const page = await linkPage(deps.table, { tenantId, query: event.queryStringParameters ?? {}, now: deps.now() }, viewerLocale(event));
    logger.info('link page served', { status: page.statusCode, lang: page.lang });
    return linkHtmlResponse(page);
  }
  return json(200, await handleLink(deps, { tenantId, body: event.body, isBase64Encoded: event.isBase64Encoded }));
})
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(linkErrors());
