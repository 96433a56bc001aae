import type { SQSRecord } from 'aws-lambda';
import { logger } from '../log';
import type { DeadLetter } from './deadLetter';
import { InvalidEventError } from './errors';
import { prepareEvent } from './prepareEvent';
import type { EventOutcome, PreparedEvent, RecordOutcome } from './types';

export interface EventRecordDeps {
  /** Applies and counts a valid event (deduplicated: see dedupeEvents). */
  process(e: PreparedEvent): Promise<EventOutcome>;
  /**
   * Where invalid records go. Without it an invalid record is reported as a batch item failure
   * and reaches the DLQ through the queue's redrive policy after maxReceiveCount receives.
   */
  deadLetter?: DeadLetter;
  /** Epoch ms; the received time of a message that carries none. */
  now(): number;
}

/**
 * The per-record handler for the events queue (for Powertools' BatchProcessor): a valid event is
 * processed once; an invalid one is sent to the dead-letter queue and acknowledged; anything that
 * fails for another reason throws, so only that record is retried.
 *
 * @example
 * const recordHandler = createEventRecordHandler({ process, deadLetter, now: Date.now });
 * await processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context });
 */
export function createEventRecordHandler(deps: EventRecordDeps): (record: SQSRecord) => Promise<RecordOutcome> {
  return async (record) => {
    const messageId = record.messageId;
    let prepared: PreparedEvent;
    try {
      prepared = prepareEvent(record.body, Number(record.attributes?.SentTimestamp) || deps.now());
    } catch (e) {
      if (!(e instanceof InvalidEventError)) throw e;
      if (!deps.deadLetter) {
        logger.error('invalid event left for the queue to redrive to the dead-letter queue', { messageId, reason: e.message });
        throw e;
      }
      await deps.deadLetter(record, e.message);
      logger.error('invalid event sent to the dead-letter queue', { messageId, reason: e.message });
      return { result: 'dead-lettered', reason: e.message };
    }

    const ids = { messageId, tenantId: prepared.tenantId, eventId: prepared.eventId, eventType: prepared.eventType };
    let outcome: EventOutcome;
    try {
      outcome = await deps.process(prepared);
    } catch (e) {
      logger.error('event processing failed; it will be retried', { ...ids, error: e as Error });
      throw e;
    }
    if (outcome.duplicate) logger.info('duplicate event acknowledged', ids);
    else if (outcome.result === 'ignored') logger.info('unknown event type acknowledged and ignored', { ...ids, countedFor: outcome.countedFor });
    else logger.info('event processed', { ...ids, result: outcome.result, countedFor: outcome.countedFor });
    return outcome;
  };
}
