import { SQSClient } from '@aws-sdk/client-sqs';
import { required, type Config } from '../contracts/env';
import { AccessTokens } from '../dingtalk/accessTokens';
import { DingTalkClient } from '../dingtalk/client';
import { createShaping } from '../shaping/createShaping';
import { createTable } from '../store/table';
import { cachedTenants } from '../store/tenantCache';
import { getTenant } from '../store/tenants';
import { traced } from '../tracer';
import { realSleep } from '../util/time';
import type { LinkDeps } from './handleLink';

/**
 * The link function's dependencies, wired once per Lambda instance (module scope): the DingTalk
 * client, the sender's gate (the app's QPS per API and the organisation's monthly quota: the code
 * exchange counts, docs/dingtalk-api.md §10) and the shared access tokens.
 *
 * @example
 * const deps = wireLink(loadConfig());
 */
export function wireLink(config: Config): LinkDeps {
  const table = createTable(config.TABLE_NAME);
  const client = new DingTalkClient({ apiUrl: config.DINGTALK_API_URL, oapiUrl: config.DINGTALK_OAPI_URL, timeoutMs: config.DINGTALK_TIMEOUT_MS });
  const { gate } = createShaping(table, cachedTenants((id) => getTenant(table, id), { ttlMs: 10_000 }));
  const now = () => Date.now();
  return {
    table,
    sqs: traced(new SQSClient({})),
    client,
    gate,
    tokens: new AccessTokens({ table, client, gate, now, sleep: realSleep }),
    queueUrl: required(config, 'FLASHDUTY_ACTIONS_QUEUE_URL'),
    now,
  };
}
