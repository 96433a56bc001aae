import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DrainMessage } from '../contracts/drainMessage';
import { sendJson } from '../queue/sqs';
import type { Table } from '../store/table';
import { backlogPage } from './backlog';
import { LEASE_MS, listLanes } from './lease';

/** When a watch request looks at its lane again: just after the lease would have run out unrenewed. */
export const WATCH_SECONDS = Math.ceil(LEASE_MS / 1000) + 1;

/** Asks the drain function to send an app's backlog (after `delaySeconds`). */
export async function requestDrain(sqs: SQSClient, drainQueueUrl: string | undefined, clientId: string, delaySeconds = 0, watch?: string): Promise<void> {
  if (!drainQueueUrl) throw new Error('DRAIN_QUEUE_URL is not set: a backlog cannot be drained');
  const request: DrainMessage = { clientId, ...(watch ? { watch } : {}) };
  await sendJson(sqs, drainQueueUrl, request, { delaySeconds, groupId: clientId });
}

/**
 * The scheduled sweep (with unpark): a drain request for every app whose holder died (its lease ran
 * out unreleased) or whose backlog waits with no holder. Returns the apps it asked to drain.
 */
export async function sweepLanes(deps: { table: Table; sqs: SQSClient; drainQueueUrl?: string }, now: number = Date.now()): Promise<string[]> {
  const asked: string[] = [];
  for (const lane of await listLanes(deps.table, now)) {
    if (lane.held && !lane.stale) continue;
    if (lane.stale || (await backlogPage(deps.table, lane.clientId, 1)).length) {
      await requestDrain(deps.sqs, deps.drainQueueUrl, lane.clientId);
      asked.push(lane.clientId);
    }
  }
  return asked;
}
