import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import type { EventOutcome, PreparedEvent } from './types';

/**
 * How long an eventId is remembered (the dedupe record's TTL). DingTalk retries a push after 10 s
 * and 30 s and keeps failures for a later pull, so a week covers every redelivery we know of.
 */
export const EVENT_DEDUPE_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Wraps `process` with Powertools' idempotency utility, keyed by the event's tenantId + eventId
 * (see EventDedupeStore): the first delivery runs it and stores its outcome; a repeat returns that
 * outcome with `duplicate: true` and does nothing. If `process` throws, the record is deleted, so
 * the retry of a failed first attempt runs again. A repeat arriving while the first is still
 * running fails (IdempotencyAlreadyInProgressError) and comes back with the queue's redelivery.
 *
 * @example
 * const once = dedupeEvents((e) => processEvent(deps, e), { store, context });
 * await once(prepared); // { result: 'applied', ... } then { result: 'applied', duplicate: true, ... }
 */
export function dedupeEvents(
  process: (e: PreparedEvent) => Promise<EventOutcome>,
  opts: { store: BasePersistenceLayer; context?: Context; ttlSeconds?: number },
): (e: PreparedEvent) => Promise<EventOutcome> {
  // One config per invocation: the Lambda context (remaining time bounds an INPROGRESS lock) is
  // per invocation, and the local poller may run several invocations at once in one process.
  const config = new IdempotencyConfig({
    expiresAfterSeconds: opts.ttlSeconds ?? EVENT_DEDUPE_TTL_SECONDS,
    lambdaContext: opts.context,
    responseHook: (response) => ({ ...(response as object), duplicate: true }),
  });
  return makeIdempotent(process, { persistenceStore: opts.store, config }) as (e: PreparedEvent) => Promise<EventOutcome>;
}
