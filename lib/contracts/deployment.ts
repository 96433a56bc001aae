/**
 * Deployment settings shared by the CDK stack (infra/stack.ts), the local stack (infra/local) and
 * the code, so both stacks wire queues, pollers and metrics the same way.
 */

/** Powertools service name of every function (logs, metrics). */
export const SERVICE_NAME = 'dingtalk-bridge';

export const QUEUES = {
  events: { name: 'dingtalk-events', batchSize: 10, maxBatchingWindowSeconds: 1, maxReceiveCount: 5, consumerTimeoutSeconds: 30 },
  notify: { name: 'dingtalk-notify', batchSize: 10, maxBatchingWindowSeconds: 0, maxReceiveCount: 8, consumerTimeoutSeconds: 60 },
  /** Drain requests (lib/lanes): one app per message; its holder sends for up to its whole timeout. */
  drain: { name: 'dingtalk-drain', batchSize: 1, maxBatchingWindowSeconds: 0, maxReceiveCount: 5, consumerTimeoutSeconds: 120 },
  /** Card button presses the callback verified (lib/actions): the actions function hands each to Flashduty. */
  actions: { name: 'dingtalk-actions', batchSize: 10, maxBatchingWindowSeconds: 0, maxReceiveCount: 8, consumerTimeoutSeconds: 30 },
} as const;

/**
 * The outbound actions queue (contract: lib/contracts/actionsMessage.ts): Flashduty reads it; the
 * bridge has no consumer. Its messages are kept 14 days, the most SQS allows.
 */
export const FLASHDUTY_ACTIONS_QUEUE = { name: 'dingtalk-flashduty-actions', retentionDays: 14 } as const;

/** SQS visibility timeout for a queue: six times its consumer's timeout, as AWS recommends. */
export const visibilityTimeoutSeconds = (q: { consumerTimeoutSeconds: number }): number => q.consumerTimeoutSeconds * 6;

export const DEFAULT_TABLE_NAME = 'dingtalk-bridge';

/** Default accepted clock skew for callback timestamps. */
export const DEFAULT_CALLBACK_WINDOW_SECONDS = 3600;

/** CloudWatch namespace of the metrics the bridge emits (EMF); the CDK alarms read it too. */
export const METRICS_NAMESPACE = 'DingtalkBridge';

/** The dimension that names the tenant on {@link TENANT_METRICS} (with `service`). */
export const TENANT_DIMENSION = 'tenantId';

/**
 * Metrics emitted per tenant, with the dimensions `service` and `tenantId` only (lib/metrics.ts);
 * the dashboard and the per-tenant alarms read them (infra/). Emitted only for registered tenants,
 * so there are as many series as tenants.
 */
export const TENANT_METRICS = {
  /** A call DingTalk counts (robot, scene group) answered ok. */
  callsSent: 'CallsSent',
  /** A call DingTalk refused for its QPS limit. */
  throttled: 'Throttled',
  /** A call held back by the bridge's own pacing (no slot soon enough): its message comes back later. */
  deferred: 'Deferred',
  /** A message parked for the monthly quota. */
  parked: 'Parked',
  /** The organisation's calls this month, in % of its quota, at each reservation. */
  quotaUsedPercent: 'QuotaUsedPercent',
  /** Milliseconds from the message's arrival on the notify queue to DingTalk's answer to a call that delivered it. */
  deliveryLatency: 'DeliveryLatency',
} as const;

export type TenantMetricName = (typeof TENANT_METRICS)[keyof typeof TENANT_METRICS];
