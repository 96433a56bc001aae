import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../contracts/env';
import { required } from '../contracts/env';
import { DingTalkClient } from '../dingtalk/client';
import { metrics, tenantMetrics } from '../metrics';
import { createSender } from '../sender/createSender';
import { createShaping } from '../shaping/createShaping';
import { createTable } from '../store/table';
import { withAppSecret } from '../store/secrets';
import { cachedTenants } from '../store/tenantCache';
import { getTenant } from '../store/tenants';
import { traced } from '../tracer';
import { Lanes } from './lanes';

/**
 * The sender core, the shaping gate and the lanes, wired once per Lambda instance (module scope) for
 * the two functions that send: the sender (notify queue) and the drain (drain queue).
 *
 * @example
 * const { lanes } = wireLanes(loadConfig());
 */
export function wireLanes(config: Config): { lanes: Lanes } {
  const sqs = traced(new SQSClient({}));
  const table = createTable(config.TABLE_NAME);
  // The record and its app secret (for access tokens), read together and kept 10 s.
  const tenants = cachedTenants((id) => withAppSecret(table, id, (t) => getTenant(table, t)), { ttlMs: 10_000 });
  let lanes: Lanes | undefined;
  const shaping = createShaping(table, tenants, { metrics, tenantMetrics, gate: { pacerFor: (clientId, api) => lanes?.pacerFor(clientId, api) } });
  const sender = createSender({
    table,
    sqs,
    client: new DingTalkClient({ apiUrl: config.DINGTALK_API_URL, oapiUrl: config.DINGTALK_OAPI_URL, timeoutMs: config.DINGTALK_TIMEOUT_MS }),
    dlqUrl: required(config, 'NOTIFY_DLQ_URL'),
    queueUrl: config.NOTIFY_QUEUE_URL,
    retry: { baseSeconds: config.NOTIFY_RETRY_BASE_SECONDS },
    getTenant: tenants,
    gate: shaping.gate,
    park: shaping.park,
    metrics,
    tenantMetrics,
    publicUrl: config.PUBLIC_URL,
  });
  lanes = new Lanes({
    table,
    sqs,
    sender,
    getTenant: tenants,
    drainQueueUrl: config.DRAIN_QUEUE_URL,
    onGiveBack: (clientId) => shaping.gate.releaseUnused(clientId),
    // A call's bound while unanswered: the client's timeout and a margin.
    maxCallMs: config.DINGTALK_TIMEOUT_MS + 4000,
  });
  return { lanes };
}
