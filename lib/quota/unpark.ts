import type { SQSClient } from '@aws-sdk/client-sqs';
import type { NotifyQueueMessage } from '../contracts/notifyMessage';
import { sendJson } from '../queue/sqs';
import type { Table } from '../store/table';
import { limitsOf, type Tenant } from '../contracts/tenant';
import { ackParked, takeParked, unleaseParked } from './parking';
import { limitFor, usage } from './counter';

export interface UnparkResult {
  corpId: string;
  requeued: number;
  /** Why nothing more was taken: the month is still exhausted, or nothing is parked. */
  skipped?: 'exhausted' | 'full';
  /** Why this organisation's sweep failed (the others still ran). */
  error?: string;
}

/**
 * Sends parked messages back to the notify queue once their organisation has quota again: the
 * month turned, or the tenant's `monthlyQuota` was raised. Oldest first, at most what the quota
 * has room for; each claimed with a lease so concurrent sweeps never double-send (and the
 * sender's per-recipient records would skip a duplicate anyway). Run on a schedule.
 *
 * @example
 * await unparkAll({ table, sqs, queueUrl }, await listTenants(table));
 */
export async function unparkAll(
  deps: { table: Table; sqs: SQSClient; queueUrl: string; now?: number },
  tenants: readonly Tenant[],
  maxPerOrg = 500,
): Promise<UnparkResult[]> {
  const now = deps.now ?? Date.now();
  const orgs = new Map<string, number>();
  for (const t of tenants) orgs.set(t.corpId, Math.max(orgs.get(t.corpId) ?? 0, limitsOf(t).monthlyQuota));
  const results: UnparkResult[] = [];
  for (const [corpId, quota] of orgs) {
    try {
      results.push(await unparkOrg(deps, corpId, quota, now, maxPerOrg));
    } catch (e) {
      results.push({ corpId, requeued: 0, error: (e as Error).message });
    }
  }
  return results;
}

async function unparkOrg(deps: { table: Table; sqs: SQSClient; queueUrl: string }, corpId: string, quota: number, now: number, maxPerOrg: number): Promise<UnparkResult> {
  const u = await usage(deps.table, corpId, now);
  if (u.exhausted) return { corpId, requeued: 0, skipped: 'exhausted' };
  const room = Math.min(maxPerOrg, quota - u.used);
  if (room <= 0) return { corpId, requeued: 0, skipped: 'full' };
  const taken = await takeParked<NotifyQueueMessage>(deps.table, corpId, room, { now });
  // A non-critical message only goes back when it fits under the critical reserve.
  const fits = taken.filter((p) => u.used < limitFor({ quota, severity: p.message.kind === 'notify' ? p.message.severity : undefined }));
  for (const p of fits) await sendJson(deps.sqs, deps.queueUrl, p.message);
  await ackParked(deps.table, fits);
  await unleaseParked(deps.table, taken.filter((p) => !fits.includes(p)));
  return { corpId, requeued: fits.length };
}
