import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { parseNotifyMessage, type NotifyQueueMessage } from '../contracts/notifyMessage';
import { limitsOf } from '../contracts/tenant';
import { BATCH_SEND_MAX_USERS } from '../dingtalk/client';
import { logger as rootLogger } from '../log';
import { deadLetter } from '../queue/deadLetter';
import { isPermanentSendError, sendText } from '../queue/sqs';
import type { Table } from '../store/table';
import { getTenant } from '../store/tenants';
import { limitFor, usage } from './counter';
import { ackParked, forgetParkedOrg, parkedOrgs, takeParked, unleaseParked, type ParkedMessage, type ParkedOrg } from './parking';

export interface UnparkResult {
  corpId: string;
  requeued: number;
  /** Parked items that could never be sent (not a valid message, refused by SQS): moved to the DLQ with the reason. */
  deadLettered?: number;
  /** Why nothing more was taken: the month is still exhausted, or the quota has no room. */
  skipped?: 'exhausted' | 'full';
  /** Why this organisation's sweep failed (the others still ran). */
  error?: string;
}

export interface UnparkDeps {
  table: Table;
  sqs: SQSClient;
  queueUrl: string;
  /** The notify DLQ: where a parked item that can never be sent goes, with the reason. */
  dlqUrl: string;
  now?: number;
  log?: Logger;
  metrics?: Metrics;
}

/**
 * Calls a message may cost: one batchSend per 20 users (mobiles and members resolve to users), one
 * per group; a card page one call per user and group; an incident update at least one card update.
 */
export function callsOf(msg: NotifyQueueMessage): number {
  switch (msg.kind) {
    case 'war_room.create':
      return 2 + Math.ceil(msg.memberMobiles.length / BATCH_SEND_MAX_USERS);
    case 'war_room.update':
      return 1 + Math.ceil(((msg.memberMobiles?.length ?? 0) + (msg.memberIds?.length ?? 0)) / BATCH_SEND_MAX_USERS);
    case 'war_room.dismiss':
    case 'incident.update':
      return 1;
    case 'notify': {
      const users = (msg.to.userIds?.length ?? 0) + (msg.to.mobiles?.length ?? 0) + (msg.to.memberIds?.length ?? 0);
      const groups = msg.to.openConversationIds?.length ?? 0;
      if (msg.incident) return Math.max(1, users + groups);
      return Math.max(1, Math.ceil(users / BATCH_SEND_MAX_USERS) + groups);
    }
  }
}

/**
 * Sends parked messages back to the notify queue once their organisation has quota again: the
 * month turned, or the tenant's `monthlyQuota` was raised. Critical first, then the oldest, as many
 * as the quota has room for by their estimated calls; each claimed with a lease so concurrent sweeps
 * never both re-queue one. Organisations come from the `PARKED` work list, never a table scan. A
 * parked item that can never be sent goes to the DLQ with its reason instead of blocking the rest.
 * Every organisation is tried; each failure is logged and counted (`UnparkErrors`), and the sweep
 * then throws so the function's errors alarm fires. Run on a schedule.
 *
 * @example
 * await unparkAll({ table, sqs, queueUrl, dlqUrl });
 */
export async function unparkAll(deps: UnparkDeps, maxCallsPerOrg = 500): Promise<UnparkResult[]> {
  const log = deps.log ?? rootLogger;
  const results: UnparkResult[] = [];
  for (const org of await parkedOrgs(deps.table)) {
    try {
      results.push(await unparkOrg(deps, org, deps.now ?? Date.now(), maxCallsPerOrg));
    } catch (e) {
      log.error('unpark failed for an organisation; its parked messages stay parked', { corpId: org.corpId, error: e as Error });
      deps.metrics?.addMetric('UnparkErrors', MetricUnit.Count, 1);
      results.push({ corpId: org.corpId, requeued: 0, error: (e as Error).message });
    }
  }
  const failed = results.filter((r) => r.error);
  if (failed.length) throw new Error(`unpark failed for ${failed.length} organisation(s): ${failed.map((r) => `${r.corpId}: ${r.error}`).join('; ')}`);
  return results;
}

async function unparkOrg(deps: UnparkDeps, org: ParkedOrg, now: number, maxCallsPerOrg: number): Promise<UnparkResult> {
  const { table } = deps;
  const tenants = (await Promise.all(org.tenantIds.map((id) => getTenant(table, id)))).filter((t) => t !== undefined);
  if (!tenants.length) throw new Error(`no tenant left for the parked messages of ${org.corpId} (tenants ${org.tenantIds.join(', ')})`);
  const quota = Math.max(...tenants.map((t) => limitsOf(t).monthlyQuota));
  const u = await usage(table, org.corpId, now);
  if (u.exhausted) return { corpId: org.corpId, requeued: 0, skipped: 'exhausted' };
  const room = Math.min(maxCallsPerOrg, quota - u.used);
  if (room <= 0) return { corpId: org.corpId, requeued: 0, skipped: 'full' };

  const taken = await takeParked<NotifyQueueMessage>(table, org.corpId, room, { now });
  const fits: ParkedMessage<NotifyQueueMessage>[] = [];
  const poison: Array<[ParkedMessage<NotifyQueueMessage>, string]> = [];
  let calls = 0;
  for (const p of taken) {
    const parsed = parseNotifyMessage(p.body);
    if (!parsed.ok) {
      poison.push([p, `parked item is not a valid message: ${parsed.reason}`]);
      continue;
    }
    const cost = callsOf(parsed.message);
    // In order: a message that does not fit the room waits for the next sweep, and so does what follows it.
    if (calls + cost > room) break;
    // Each message against its own tenant's quota, as the gate will check it (tenants of one
    // organisation may be configured differently); non-critical ones only below the critical reserve.
    const own = tenants.find((t) => t.tenantId === parsed.message.tenantId);
    const ownQuota = own ? limitsOf(own).monthlyQuota : quota;
    if (u.used + calls + cost > limitFor({ quota: ownQuota, severity: parsed.message.severity })) continue;
    calls += cost;
    fits.push(p);
  }
  // Each item is acknowledged as soon as its copy is on a queue, so a later failure never sends it twice.
  const done = new Set<ParkedMessage>();
  const failures: string[] = [];
  let requeued = 0;
  const tenantOf = (p: ParkedMessage<NotifyQueueMessage>) => (p.message as { tenantId?: string } | undefined)?.tenantId;
  for (const p of fits) {
    try {
      await sendText(deps.sqs, deps.queueUrl, p.body, { groupId: tenantOf(p) });
      requeued++;
      done.add(p);
      await ackParked(table, [p]);
    } catch (e) {
      if (isPermanentSendError(e)) poison.push([p, `SQS refused the parked message: ${(e as Error).message}`]);
      else failures.push(`re-queueing ${p.messageId}: ${(e as Error).message}`);
    }
  }
  for (const [p, reason] of poison) {
    try {
      await deadLetter(deps.sqs, deps.dlqUrl, p.body, { source: 'unpark', reason, messageId: p.messageId, tenantId: tenantOf(p) });
      done.add(p);
      await ackParked(table, [p]);
      (deps.log ?? rootLogger).error('parked item dead-lettered', { corpId: org.corpId, messageId: p.messageId, reason });
    } catch (e) {
      failures.push(`dead-lettering ${p.messageId}: ${(e as Error).message}`);
    }
  }
  await unleaseParked(table, taken.filter((p) => !done.has(p)));
  await forgetParkedOrg(table, org);
  if (failures.length) throw new Error(failures.join('; '));
  return { corpId: org.corpId, requeued, ...(poison.length ? { deadLettered: poison.length } : {}) };
}
