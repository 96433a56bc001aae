import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { NotifyQueueMessage } from '../contracts/notifyMessage';
import type { AppTenant } from '../store/secrets';
import type { AccessTokens } from '../dingtalk/accessTokens';
import type { CallGate } from '../dingtalk/callGate';
import type { DingTalkClient } from '../dingtalk/client';
import type { Table } from '../store/table';
import type { LaneRecords } from './laneRecords';
import type { Slots } from '../util/pool';
import type { TenantMetricsSink } from '../metrics';
import { Outcomes, type OutcomeStore } from './outcomes';
import type { DeliveryResult } from './verdict';

/** Everything a kind handler may use. */
export interface DeliveryContext {
  table: Table;
  client: DingTalkClient;
  gate: CallGate;
  tokens: AccessTokens;
  now: () => number;
  getTenant(tenantId: string): Promise<AppTenant | undefined>;
  log: Logger;
  /** Concurrent DingTalk sends within one message. */
  concurrency: number;
  /**
   * Epoch ms after which no DingTalk call may start: the invocation's end less the client timeout and
   * a margin, so a call never outlives its invocation holding a claim. Absent: no limit.
   */
  deadline?: number;
  /** Where delivery metrics go (possible duplicates). */
  metrics?: Metrics;
  /** Where per-tenant delivery metrics go (`DeliveryLatency`). */
  tenantMetrics?: TenantMetricsSink;
  /** Epoch ms the message arrived on the notify queue (its record's SQS SentTimestamp, which a backlog item keeps). */
  queuedAt?: number;
  /** Under a lane: the batched delivery records the messages of this batch share (see laneRecords.ts). */
  records?: LaneRecords;
  /** DingTalk calls in flight (or waiting for their turn) across the whole batch, at most `concurrency`. */
  slots?: Slots;
  /** The bridge's public base URL (PUBLIC_URL): card callbacks are registered under it; absent, no cards (lib/cards). */
  publicUrl?: string;
}

/**
 * The delivery records of one message for an attempt: batched under a lane, else one request each.
 *
 * @example
 * const outcomes = outcomesFor(ctx, msg.tenantId, msg.id);
 */
export const outcomesFor = (ctx: Pick<DeliveryContext, 'table' | 'now' | 'records'>, tenantId: string, id: string): OutcomeStore =>
  ctx.records ? ctx.records.outcomes(tenantId, id, ctx.now) : new Outcomes(ctx.table, tenantId, id, ctx.now);

/** Detail of a recipient left for the retry because the invocation had no time left for its call. */
export const NOT_STARTED = 'not started: the invocation had no time left for the call';

/** Whether the invocation is past the point where a DingTalk call may still start. */
export const outOfTime = (ctx: Pick<DeliveryContext, 'deadline' | 'now'>): boolean => ctx.deadline !== undefined && ctx.now() > ctx.deadline;

/** Delivers one message of a kind. The extension point: the war room plugs in here. */
export type KindHandler<K extends NotifyQueueMessage['kind']> = (ctx: DeliveryContext, msg: Extract<NotifyQueueMessage, { kind: K }>) => Promise<DeliveryResult>;
export type KindHandlers = { [K in NotifyQueueMessage['kind']]: KindHandler<K> };
