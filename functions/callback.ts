import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handleCallback } from '../lib/callback/handleCallback';
import { loadConfig, required } from '../lib/contracts/env';
import { CARD_CALLBACK_ROUTE } from '../lib/contracts/routes';
import { httpErrors, json } from '../lib/http/json';
import { logger } from '../lib/log';
import { handlePress, type PressDeps } from '../lib/press/handlePress';
import { sendJson } from '../lib/queue/sqs';
import { getCardSecret } from '../lib/store/cardSecret';
import { getCard, getIncidentState } from '../lib/store/cards';
import { getUserLink } from '../lib/store/links';
import { forgetPress, recordPress } from '../lib/store/presses';
import { createTable } from '../lib/store/table';
import { getCallbackApp } from '../lib/store/secrets';
import { cachedTenants } from '../lib/store/tenantCache';
import { getTenant } from '../lib/store/tenants';
import { traced, tracer } from '../lib/tracer';

const config = loadConfig();
const table = createTable(config.TABLE_NAME);
const sqs = traced(new SQSClient({}));
// Only its own secret item (SECRET#CALLBACK#<tenantId>), one GetItem; unknown ids remembered 10 s.
const callbackApps = cachedTenants((id) => getCallbackApp(table, id), { missesOnly: true });
const CARD_ROUTE_KEY = `${CARD_CALLBACK_ROUTE.method} ${CARD_CALLBACK_ROUTE.path}`;

/** The card route's wiring, made at its first press (a deployment without ACTIONS_QUEUE_URL still serves events). */
let pressDeps: PressDeps | undefined;
const pressWiring = (): PressDeps => {
  const actionsQueueUrl = required(config, 'ACTIONS_QUEUE_URL');
  return {
    // The record (corpId, locale), cached 10 s like every tenant lookup.
    getTenant: cachedTenants((id) => getTenant(table, id)),
    getCardSecret: (id) => getCardSecret(table, id),
    getCard: (id, outTrackId) => getCard(table, id, outTrackId),
    recordPress: (id, ts, what) => recordPress(table, id, ts, what, Date.now()),
    forgetPress: (id, ts) => forgetPress(table, id, ts),
    getUserLink: (id, userId) => getUserLink(table, id, userId),
    getIncidentState: (id, incidentId) => getIncidentState(table, id, incidentId),
    enqueue: async (a) => void (await sendJson(sqs, actionsQueueUrl, a, { groupId: a.tenantId })),
    now: Date.now,
  };
};

/** POST /card/{tenantId}: a button pressed on a card (docs/two-way.md, "The card callback"). */
async function cardPress(event: APIGatewayProxyEventV2, tenantId: string) {
  const out = await handlePress((pressDeps ??= pressWiring()), { tenantId, headers: event.headers ?? {}, body: event.body, isBase64Encoded: event.isBase64Encoded });
  logger.info('card press', { outcome: out.outcome, incidentId: out.incidentId, action: out.action, actionId: out.actionId });
  return json(200, out.answer);
}

/** POST /dingtalk/{tenantId}/callback: DingTalk's signed, encrypted event push; POST /card/{tenantId}: a card button press. */
export const handler = middy(async (event: APIGatewayProxyEventV2) => {
  const tenantId = event.pathParameters?.tenantId ?? '';
  logger.appendKeys({ tenantId });
  if (event.routeKey === CARD_ROUTE_KEY || /^\/card\/[^/]+$/.test(event.rawPath ?? '')) return cardPress(event, tenantId);
  const eventsQueueUrl = required(config, 'EVENTS_QUEUE_URL');
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
