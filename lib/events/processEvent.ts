import { countEvent } from '../store/eventCounts';
import { getTenant } from '../store/tenants';
import { logger } from '../log';
import { chinaMonth } from '../util/chinaTime';
import { findEventModule } from './eventModules';
import type { EventDeps, EventOutcome, PreparedEvent } from './types';

/**
 * Applies one (new, not duplicate) event and counts it for its organisation's China-time month:
 * the event's `CorpId`, else the tenant's corpId. The change goes first and the count last, so a
 * failure anywhere leaves a retry that re-applies harmlessly (changes are versioned) and counts once.
 *
 * @example
 * await processEvent({ table, now: Date.now }, prepareEvent(body, Date.now()))
 * // { eventType: 'chat_update_title', result: 'applied', countedFor: { corpId: 'ding..', month: '2026-05' } }
 */
export async function processEvent(deps: EventDeps, e: PreparedEvent): Promise<EventOutcome> {
  const mod = findEventModule(e.eventType);
  const result = mod && e.change !== undefined ? await mod.apply(deps, e.tenantId, e.change) : 'ignored';

  const corpId = e.corpId ?? (await getTenant(deps.table, e.tenantId))?.corpId;
  if (!corpId) {
    logger.warn('event not counted: no CorpId in the event and no such tenant', { tenantId: e.tenantId, eventId: e.eventId });
    return { eventType: e.eventType, result };
  }
  const month = chinaMonth(e.receivedAtMs);
  await countEvent(deps.table, corpId, month, deps.now());
  return { eventType: e.eventType, result, countedFor: { corpId, month } };
}
