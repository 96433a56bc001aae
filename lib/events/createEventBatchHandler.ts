import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Table } from '../store/table';
import { createEventRecordHandler } from './createEventRecordHandler';
import type { DeadLetter } from './deadLetter';
import { dedupeEvents } from './dedupeEvents';
import { processEvent } from './processEvent';

export interface EventBatchDeps {
  table: Table;
  /** Where dedupe records live (EventDedupeStore on the table). */
  dedupe: BasePersistenceLayer;
  /** Invalid records go here; see EventRecordDeps.deadLetter. */
  deadLetter?: DeadLetter;
  /** Epoch ms. */
  now(): number;
}

/**
 * The events Lambda's body: each SQS record is handled on its own (Powertools BatchProcessor),
 * in queue order, and only the records that failed are reported back (partial batch response),
 * so a bad record never fails its neighbours.
 *
 * @example
 * export const handler = middy(createEventBatchHandler({ table, dedupe, deadLetter, now: Date.now })).use(injectLambdaContext(logger));
 */
export function createEventBatchHandler(deps: EventBatchDeps): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const apply = { table: deps.table, now: deps.now };
  return async (event, context) => {
    const process = dedupeEvents((e) => processEvent(apply, e), { store: deps.dedupe, context });
    const recordHandler = createEventRecordHandler({ process, deadLetter: deps.deadLetter, now: deps.now });
    // A processor per invocation: it holds the batch's state, and the local poller may run
    // several invocations of this module at once. In order (not in parallel) so two deliveries of
    // the same eventId in one batch meet as "completed", not as "in progress".
    return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS), { context, processInParallel: false });
  };
}
