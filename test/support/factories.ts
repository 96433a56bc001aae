import { randomBytes } from 'node:crypto';
import { sealEnvelope } from '../../lib/dingtalk/crypto';
import type { NotifyRequest } from '../../lib/contracts/notifyMessage';
import type { Tenant } from '../../lib/contracts/tenant';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let seq = 0;

/** A valid tenant record; override any field. */
export function aTenant(over: Partial<Tenant> = {}): Tenant {
  seq += 1;
  return {
    tenantId: `tenant-${seq}-${randomBytes(3).toString('hex')}`,
    corpId: `ding-corp-${seq}`,
    agentId: '3000000001',
    clientId: `dingclient${seq}${randomBytes(3).toString('hex')}`,
    clientSecret: randomBytes(24).toString('hex'),
    aesKey: randomBytes(32).toString('base64').slice(0, 43),
    token: `tok${randomBytes(8).toString('hex')}`,
    edition: 'standard',
    ...over,
  };
}

/**
 * Builds what DingTalk would POST for `event` to the tenant's callback URL: query parameters
 * (msg_signature, timestamp in ms, nonce) and the JSON body `{"encrypt": ...}`.
 */
export function signedPush(
  tenant: Tenant,
  event: Record<string, unknown>,
  opts: { timestamp?: string; nonce?: string; receiverId?: string; token?: string } = {},
) {
  const env = sealEnvelope(
    { token: opts.token ?? tenant.token, aesKey: tenant.aesKey, receiverId: opts.receiverId ?? tenant.clientId },
    JSON.stringify(event),
    { timeStamp: opts.timestamp ?? String(Date.now()), nonce: opts.nonce ?? randomBytes(4).toString('hex') },
  );
  return {
    query: { msg_signature: env.msg_signature, timestamp: env.timeStamp, nonce: env.nonce },
    body: JSON.stringify({ encrypt: env.encrypt }),
  };
}

/** An API Gateway HTTP API (payload v2) event for the given route. */
export function httpEvent(opts: {
  method?: string;
  path: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  headers?: Record<string, string>;
}): any {
  const qs = new URLSearchParams(opts.query ?? {}).toString();
  return {
    version: '2.0',
    routeKey: `${opts.method ?? 'POST'} ${opts.path}`,
    rawPath: opts.path,
    rawQueryString: qs,
    headers: { 'content-type': 'application/json', ...(opts.headers ?? {}) },
    queryStringParameters: opts.query,
    pathParameters: opts.pathParameters,
    body: opts.body,
    isBase64Encoded: false,
    requestContext: { http: { method: opts.method ?? 'POST', path: opts.path }, requestId: `req-${Date.now()}`, timeEpoch: Date.now() },
  };
}

export const lambdaContext: any = {
  functionName: 'test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test',
  memoryLimitInMB: '256',
  awsRequestId: 'test-request',
  logGroupName: '/aws/lambda/test',
  logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 30000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

/** A valid v1 notify message for `tenant`; override any field. */
export function aNotify(tenant: Pick<Tenant, 'tenantId'>, over: Partial<NotifyRequest> = {}): NotifyRequest {
  seq += 1;
  return {
    version: 1,
    id: `fd-${Date.now()}-${seq}`,
    tenantId: tenant.tenantId,
    kind: 'notify',
    to: { userIds: ['user1'] },
    message: { title: '[P1] 支付服务错误率 > 5%', markdown: '### [P1] 支付服务错误率 > 5%\n- 服务: payment-api' },
    ...over,
  };
}

/** A JSON file of test/fixtures, parsed. */
export const fixture = <T = any>(name: string): T => JSON.parse(readFileSync(join(__dirname, '../fixtures', name), 'utf8')) as T;
