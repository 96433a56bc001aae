import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { cardSecretKey } from '../contracts/tableKeys';
import type { DingTalkResult } from '../dingtalk/errors';
import { tryConditional, type Table } from '../store/table';
import type { CardSession } from './session';

/**
 * The card callback route of a tenant (docs/two-way.md, "Callback route"; docs/dingtalk-api.md
 * §9.3): route key `dtb-<tenantId>` at `<PUBLIC_URL>/card/<tenantId>`, signed with a random apiSecret
 * kept in `SECRET#CARD#<tenantId>` (attributes `apiSecret`, `callbackUrl`, `registeredAt`), which
 * the card callback reads to check DingTalk's signature. Registered once, before the tenant's
 * first card; again only when PUBLIC_URL changes. The secret is never logged.
 */

/** The route key of a tenant's cards: the tenant id in it, since keys may be unique across DingTalk (§9.3). */
export const callbackRouteKey = (tenantId: string): string => `dtb-${tenantId}`;

/** Where DingTalk posts a tenant's button presses. */
export const cardCallbackUrl = (publicUrl: string, tenantId: string): string => `${publicUrl.replace(/\/+$/, '')}/card/${encodeURIComponent(tenantId)}`;

/** The stored card secret of a tenant. */
export interface CardSecret {
  apiSecret: string;
  callbackUrl: string;
  /** When DingTalk accepted the registration (ISO); absent while it has not yet. */
  registeredAt?: string;
}

/** Tenants whose route this process saw registered, with the URL (module scope: the Lambda instance's life). */
const registered = new Map<string, string>();

/** Registrations under way in this process: concurrent first cards of a tenant wait for one. */
const inFlight = new Map<string, Promise<DingTalkResult<{ registered: boolean }>>>();

/** Forgets what this process registered (tests). */
export const forgetRegistrations = (): void => registered.clear();

/** The tenant's stored card secret (consistent read), if any. */
export async function getCardSecret(table: Table, tenantId: string): Promise<CardSecret | undefined> {
  const r = await table.doc.send(new GetCommand({ TableName: table.name, Key: cardSecretKey(tenantId), ConsistentRead: true }));
  if (!r.Item || typeof r.Item.apiSecret !== 'string' || typeof r.Item.callbackUrl !== 'string') return undefined;
  return { apiSecret: r.Item.apiSecret, callbackUrl: r.Item.callbackUrl, ...(typeof r.Item.registeredAt === 'string' ? { registeredAt: r.Item.registeredAt } : {}) };
}

export interface RegistrationContext {
  table: Table;
  now: () => number;
  log: Logger;
}

/**
 * Makes sure the tenant's card callback route is registered at `publicUrl` before a card is
 * created: the stored secret when its URL is this one, else a new one (a conditional put, so two
 * instances agree on the one stored), read back, registered with `forceUpdate` through the gate,
 * then marked registered. A failed registration comes back as its failure (nothing is created
 * without a route: DingTalk refuses an HTTP callback with an unregistered key). Concurrent calls for
 * a tenant in one process share one registration.
 *
 * @example
 * const r = await ensureCallbackRoute(ctx, cards, tenant.tenantId, config.PUBLIC_URL);
 * if (r.kind !== 'ok') return noteAll(r);
 */
export function ensureCallbackRoute(ctx: RegistrationContext, cards: CardSession, tenantId: string, publicUrl: string): Promise<DingTalkResult<{ registered: boolean }>> {
  const url = cardCallbackUrl(publicUrl, tenantId);
  if (registered.get(tenantId) === url) return Promise.resolve({ kind: 'ok', data: { registered: false }, status: 200 });
  const key = `${tenantId}\n${url}`;
  const running = inFlight.get(key);
  if (running) return running;
  const started = register(ctx, cards, tenantId, url).finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}

async function register(ctx: RegistrationContext, cards: CardSession, tenantId: string, url: string): Promise<DingTalkResult<{ registered: boolean }>> {
  let secret = await getCardSecret(ctx.table, tenantId);
  if (secret?.callbackUrl === url && secret.registeredAt) {
    registered.set(tenantId, url);
    return { kind: 'ok', data: { registered: false }, status: 200 };
  }
  if (secret?.callbackUrl !== url) {
    await tryConditional(
      ctx.table.doc.send(
        new PutCommand({
          TableName: ctx.table.name,
          Item: { ...cardSecretKey(tenantId), type: 'cardSecret', tenantId, apiSecret: randomBytes(32).toString('base64url'), callbackUrl: url, createdAt: new Date(ctx.now()).toISOString() },
          ConditionExpression: 'attribute_not_exists(pk) OR callbackUrl <> :url',
          ExpressionAttributeValues: { ':url': url },
        }),
      ),
    );
    secret = await getCardSecret(ctx.table, tenantId);
    // Another instance wrote another URL meanwhile (a deploy changing PUBLIC_URL): not ours to settle now.
    if (!secret || secret.callbackUrl !== url) return { kind: 'retryable', code: 'local.cardSecretChanged', message: 'the card secret changed while it was written', status: 0, cause: 'notStarted' };
  }
  const r = await cards.register({ callbackRouteKey: callbackRouteKey(tenantId), callbackUrl: url, apiSecret: secret.apiSecret, forceUpdate: true });
  if (r.kind !== 'ok') {
    ctx.log.warn('card callback route not registered', { routeKey: callbackRouteKey(tenantId), callbackUrl: url, kind: r.kind, code: r.code, requestId: r.requestId });
    return r;
  }
  // Marked only while the secret registered is the one stored.
  await tryConditional(
    ctx.table.doc.send(
      new UpdateCommand({
        TableName: ctx.table.name,
        Key: cardSecretKey(tenantId),
        UpdateExpression: 'SET registeredAt = :at',
        ConditionExpression: 'apiSecret = :s AND callbackUrl = :url',
        ExpressionAttributeValues: { ':at': new Date(ctx.now()).toISOString(), ':s': secret.apiSecret, ':url': url },
      }),
    ),
  );
  registered.set(tenantId, url);
  ctx.log.info('card callback route registered', { routeKey: callbackRouteKey(tenantId), callbackUrl: url, requestId: r.requestId });
  return { kind: 'ok', data: { registered: true }, status: r.status, ...(r.requestId ? { requestId: r.requestId } : {}) };
}
