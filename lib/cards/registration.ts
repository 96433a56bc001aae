import { randomBytes } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DingTalkResult } from '../dingtalk/errors';
import { getCardSecret, putCardSecretFor, updateCardSecret } from '../store/cardSecret';
import type { Table } from '../store/table';
import type { CardSession } from './session';

/**
 * The card callback route of a tenant (docs/two-way.md, "Callback route"; docs/dingtalk-api.md
 * §9.3): route key `dtb-<tenantId>-<8 hex>` at `<PUBLIC_URL>/card/<tenantId>`, signed with a random
 * apiSecret; both kept in `SECRET#CARD#<tenantId>` (attributes `apiSecret`, `routeKey`,
 * `callbackUrl`, `registeredAt`), which the card callback reads to check DingTalk's signature. The
 * random part is this deployment's: another deployment (staging, local) with the same DingTalk app
 * and tenant id has its own key and never takes over this one's URL and secret. Registered before
 * the tenant's first card; again only when PUBLIC_URL changes or the item is gone (a tenant deleted
 * and added again). The secret is never logged.
 */

/** A new route key for a tenant: the tenant id in it (keys may be unique across DingTalk, §9.3), and this deployment's random part. */
export const newRouteKey = (tenantId: string): string => `dtb-${tenantId}-${randomBytes(4).toString('hex')}`;

/** Where DingTalk posts a tenant's button presses. */
export const cardCallbackUrl = (publicUrl: string, tenantId: string): string => `${publicUrl.replace(/\/+$/, '')}/card/${encodeURIComponent(tenantId)}`;

/** Registrations under way in this process: concurrent first cards of a tenant wait for one. */
const inFlight = new Map<string, Promise<DingTalkResult<CallbackRoute>>>();

/** A registered route: the key to create cards with. */
export interface CallbackRoute {
  routeKey: string;
}

export interface RegistrationContext {
  table: Table;
  now: () => number;
  log: Logger;
}

/**
 * Makes sure the tenant's card callback route is registered at `publicUrl` before a card is
 * created, and gives its key. One consistent read of the stored item each time (once per batch of
 * cards), so a deleted and re-added tenant is registered again: the stored item when its URL is
 * this one and it is registered; else a new secret (a conditional put, so two instances agree on
 * the one stored; the route key is kept when only the URL changed, so older cards follow), read
 * back, registered with `forceUpdate` (the key is this deployment's own) through the gate, then
 * marked registered. A failed registration comes back as its failure (nothing is created without a
 * route: DingTalk refuses an HTTP callback with an unregistered key). Concurrent calls for a tenant
 * in one process share one registration.
 *
 * @example
 * const r = await ensureCallbackRoute(ctx, cards, tenant.tenantId, config.PUBLIC_URL);
 * if (r.kind !== 'ok') return noteAll(r);
 * const routeKey = r.data.routeKey;
 */
export function ensureCallbackRoute(ctx: RegistrationContext, cards: CardSession, tenantId: string, publicUrl: string): Promise<DingTalkResult<CallbackRoute>> {
  const url = cardCallbackUrl(publicUrl, tenantId);
  const key = `${tenantId}\n${url}`;
  const running = inFlight.get(key);
  if (running) return running;
  const started = register(ctx, cards, tenantId, url).finally(() => inFlight.delete(key));
  inFlight.set(key, started);
  return started;
}

const changed = (): DingTalkResult<CallbackRoute> => ({ kind: 'retryable', code: 'local.cardSecretChanged', message: 'the card secret changed while it was written', status: 0, cause: 'notStarted' });

async function register(ctx: RegistrationContext, cards: CardSession, tenantId: string, url: string): Promise<DingTalkResult<CallbackRoute>> {
  let secret = await getCardSecret(ctx.table, tenantId, true);
  if (secret?.callbackUrl !== url) {
    const fresh = { apiSecret: randomBytes(32).toString('base64url'), routeKey: secret?.routeKey ?? newRouteKey(tenantId), callbackUrl: url };
    await putCardSecretFor(ctx.table, tenantId, fresh, ctx.now());
    secret = await getCardSecret(ctx.table, tenantId, true);
  } else if (!secret.routeKey) {
    // An item from before route keys had a random part: same secret, a key of this deployment's own.
    await updateCardSecret(ctx.table, tenantId, { apiSecret: secret.apiSecret }, { routeKey: newRouteKey(tenantId) }, ['registeredAt']);
    secret = await getCardSecret(ctx.table, tenantId, true);
  }
  // Another instance wrote another URL meanwhile (a deploy changing PUBLIC_URL): not ours to settle now.
  if (!secret || secret.callbackUrl !== url || !secret.routeKey) return changed();
  const routeKey = secret.routeKey;
  if (secret.registeredAt) return { kind: 'ok', data: { routeKey }, status: 200 };
  const r = await cards.register({ callbackRouteKey: routeKey, callbackUrl: url, apiSecret: secret.apiSecret, forceUpdate: true });
  if (r.kind !== 'ok') {
    ctx.log.warn('card callback route not registered', { routeKey, callbackUrl: url, kind: r.kind, code: r.code, requestId: r.requestId });
    return r;
  }
  // Marked only while the secret and key registered are the ones stored.
  await updateCardSecret(ctx.table, tenantId, { apiSecret: secret.apiSecret, callbackUrl: url, routeKey }, { registeredAt: new Date(ctx.now()).toISOString() });
  ctx.log.info('card callback route registered', { routeKey, callbackUrl: url, requestId: r.requestId });
  return { kind: 'ok', data: { routeKey }, status: r.status, ...(r.requestId ? { requestId: r.requestId } : {}) };
}
