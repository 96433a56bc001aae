import type { LinkChange } from '../store/groups';
import { eventTimeMs, readText, requireConversationId } from './read';

/**
 * Reads an `im_cool_app_install` / `im_cool_app_uninstall` event. The version is `operateTime`
 * (when the operator acted), else `EventTime`, else when the callback received it.
 *
 * @example
 * parseCoolAppEvent(event, 'im_cool_app_install', true, { eventId, receivedAtMs })
 */
export function parseCoolAppEvent(
  event: Record<string, unknown>,
  eventType: string,
  linked: boolean,
  meta: { eventId: string; receivedAtMs: number },
): LinkChange {
  return {
    openConversationId: requireConversationId(event, eventType),
    linked,
    at: eventTimeMs(event, ['operateTime', 'EventTime'], meta.receivedAtMs),
    coolAppCode: readText(event, 'coolAppCode'),
    robotCode: readText(event, 'robotCode'),
    operator: readText(event, 'operator'),
    corpId: readText(event, 'CorpId'),
    openConversationCorpId: readText(event, 'openConversationCorpId'),
    eventId: meta.eventId,
  };
}
