import { z } from 'zod';
import { getField } from '../util/fields';
import { InvalidEventError } from './errors';
import { findEventModule } from './eventModules';
import { readText } from './read';
import type { PreparedEvent } from './types';

/** The events queue message the callback writes (QueuedEvent in lib/callback/handleCallback.ts). */
const queuedEventSchema = z.object({
  tenantId: z.string().trim().min(1, 'tenantId is required'),
  eventId: z.string().trim().min(1, 'eventId is required'),
  eventType: z.string().trim().min(1).optional(),
  receivedAt: z.string().optional(),
  event: z.record(z.string(), z.unknown()),
});

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
  const parsed = queuedEventSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
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
