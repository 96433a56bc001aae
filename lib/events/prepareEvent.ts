import { eventsQueueMessageSchema } from '../contracts/eventsMessage';
import { issueList } from '../contracts/validation';
import { getField } from '../util/fields';
import { InvalidEventError } from './errors';
import { findEventModule } from './eventModules';
import { readText } from './read';
import type { PreparedEvent } from './types';

/**
 * Validates an events queue message body and reads its DingTalk event. Throws
 * {@link InvalidEventError} (with the reason) for anything that can never be processed: a body that
 * is not JSON, no tenantId, no eventId, no event type, or a known event type missing what it needs
 * (e.g. openConversationId). An unknown event type is valid: it comes back without a `change`.
 *
 * @example
 * const e = prepareEvent(record.body, Number(record.attributes.SentTimestamp));
 */
export function prepareEvent(body: string, fallbackReceivedAtMs: number): PreparedEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidEventError('message body is not JSON');
  }
  const parsed = eventsQueueMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issues = issueList(parsed.error.issues);
    throw new InvalidEventError(`invalid queued event: ${issues.join('; ')}`, issues);
  }
  const { tenantId, eventId, event, receivedAt } = parsed.data;
  const typeInEvent = getField(event, 'EventType');
  const eventType = parsed.data.eventType ?? (typeof typeInEvent === 'string' && typeInEvent.trim() ? typeInEvent.trim() : undefined);
  if (!eventType) throw new InvalidEventError('queued event has no event type');

  const received = receivedAt === undefined ? NaN : Date.parse(receivedAt);
  const receivedAtMs = Number.isFinite(received) ? received : fallbackReceivedAtMs;
  const corpId = readText(event, 'CorpId');
  const prepared: PreparedEvent = { tenantId, eventId, eventType, receivedAtMs, ...(corpId ? { corpId } : {}) };
  const mod = findEventModule(eventType);
  if (mod) prepared.change = mod.parse(event, { eventId, receivedAtMs });
  return prepared;
}
