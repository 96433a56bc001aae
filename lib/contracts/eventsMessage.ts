import { z } from 'zod';

/**
 * The events queue message (docs/DESIGN.md, "Contracts"): one SQS message per DingTalk event, written
 * by the callback once the push is verified and decrypted, read by the events function.
 *
 * @example
 * const msg: EventsQueueMessage = { tenantId: 'acme', eventId: 'ev-1', eventType: 'chat_update_title', receivedAt: new Date().toISOString(), event };
 */
export const eventsQueueMessageSchema = z.object({
  tenantId: z.string().trim().min(1, 'tenantId is required'),
  /** DingTalk's eventId, or a hash of the payload when DingTalk sent none. */
  eventId: z.string().trim().min(1, 'eventId is required'),
  /** The event's EventType; a reader falls back to `event.EventType` when absent. */
  eventType: z.string().trim().min(1).optional(),
  /** ISO time the callback received the push. */
  receivedAt: z.string().optional(),
  /** The decrypted DingTalk event, as DingTalk sent it. */
  event: z.record(z.string(), z.unknown()),
});

/** What a reader gets after validation. */
export type EventsQueueMessage = z.infer<typeof eventsQueueMessageSchema>;

/** What the callback writes: every field present. */
export type QueuedEvent = Required<EventsQueueMessage>;
