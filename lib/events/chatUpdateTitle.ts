import { applyTitle, type TitleChange } from '../store/groups';
import { getField } from '../util/fields';
import { InvalidEventError } from './errors';
import { eventTimeMs, readText, requireConversationId } from './read';
import type { EventModule } from './types';

const EVENT_TYPE = 'chat_update_title';

/**
 * `chat_update_title`: a group was renamed. Stores the new title (and a war room's title) unless a
 * newer rename is already stored. The version is `EventTime`, else `timeStamp`, else when the
 * callback received it.
 *
 * @example
 * const change = chatUpdateTitle.parse(event, { eventId, receivedAtMs });
 * await chatUpdateTitle.apply({ table, now: Date.now }, tenantId, change); // 'applied' | 'stale'
 */
export const chatUpdateTitle: EventModule<TitleChange> = {
  eventType: EVENT_TYPE,
  parse(event, { eventId, receivedAtMs }) {
    const openConversationId = requireConversationId(event, EVENT_TYPE);
    // The title is kept exactly as sent (no trimming): it is what the group shows.
    const title = getField(event, 'title');
    if (typeof title !== 'string' || title.trim() === '') throw new InvalidEventError(`${EVENT_TYPE} event has no title`);
    return {
      openConversationId,
      title,
      at: eventTimeMs(event, ['EventTime', 'timeStamp'], receivedAtMs),
      operator: readText(event, 'operator'),
      chatId: readText(event, 'chatId'),
      corpId: readText(event, 'CorpId'),
      eventId,
    };
  },
  apply: (deps, tenantId, change) => applyTitle(deps.table, tenantId, change, deps.now()),
};
