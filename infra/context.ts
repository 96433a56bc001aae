import type { Construct } from 'constructs';
import { DEFAULT_HOMEPAGE_THROTTLE, DEFAULT_STACK_NAME, DEFAULT_THROTTLE, type DingtalkBridgeStackProps, type PublisherAccount } from './props';

/**
 * Deployment options read from CDK context (`cdk.json` or `-c key=value` on the command line).
 *
 * | context           | effect                                                              |
 * |-------------------|---------------------------------------------------------------------|
 * | `stackName`       | CloudFormation stack name (default `DingtalkBridge`)                |
 * | `retain`          | `false` makes the table, its key and the log groups destroyable     |
 * | `alarmEmail`      | creates an SNS topic with this e-mail subscription for every alarm  |
 * | `apiRateLimit`    | HTTP API default-stage steady rate, requests/s (default 50)         |
 * | `apiBurstLimit`   | HTTP API default-stage burst (default 100)                          |
 * | `publicUrl`       | PUBLIC_URL for the functions, e.g. a custom domain (default the HTTP API's endpoint) |
 * | `dingtalkApiUrl`  | DINGTALK_API_URL for the functions (default https://api.dingtalk.com) |
 * | `dingtalkOapiUrl` | DINGTALK_OAPI_URL for the functions (default https://oapi.dingtalk.com) |
 * | `unparkMinutes`   | how often the unpark sweep runs, whole minutes (default 10)         |
 * | `maxConcurrency`  | most concurrent sender invocations the notify queue starts, 2-1000 (default 10) |
 * | `publisherAccountId` | Flashduty's AWS account: creates the role it assumes to publish (12 digits) |
 * | `publisherExternalId` | the ExternalId that role requires (default: the stack's id)        |
 */
export interface ContextOptions extends DingtalkBridgeStackProps {
  readonly stackName: string;
}

/**
 * Reads the context of `scope` (normally the App) into stack props. Values given with `-c` arrive as
 * strings, values from cdk.json keep their JSON type: both are accepted.
 *
 * @example
 * const app = new App();
 * const { stackName, ...props } = stackPropsFromContext(app);
 * new DingtalkBridgeStack(app, stackName, props);
 */
export function stackPropsFromContext(scope: Construct): ContextOptions {
  const get = (key: string): unknown => scope.node.tryGetContext(key);
  const rate = number(get('apiRateLimit'), 'apiRateLimit');
  const burst = number(get('apiBurstLimit'), 'apiBurstLimit');
  const homeRate = number(get('homepageRateLimit'), 'homepageRateLimit');
  const homeBurst = number(get('homepageBurstLimit'), 'homepageBurstLimit');
  return {
    stackName: string(get('stackName')) ?? DEFAULT_STACK_NAME,
    retain: boolean(get('retain'), 'retain') ?? true,
    alarmEmail: email(string(get('alarmEmail'))),
    apiThrottle: rate === undefined && burst === undefined ? undefined : { rateLimit: rate ?? DEFAULT_THROTTLE.rateLimit, burstLimit: burst ?? DEFAULT_THROTTLE.burstLimit },
    homepageThrottle:
      homeRate === undefined && homeBurst === undefined ? undefined : { rateLimit: homeRate ?? DEFAULT_HOMEPAGE_THROTTLE.rateLimit, burstLimit: homeBurst ?? DEFAULT_HOMEPAGE_THROTTLE.burstLimit },
    publicUrl: httpsUrl(string(get('publicUrl'))),
    dingtalkApiUrl: string(get('dingtalkApiUrl')),
    dingtalkOapiUrl: string(get('dingtalkOapiUrl')),
    unparkMinutes: integer(get('unparkMinutes'), 'unparkMinutes', 1, 1440),
    senderMaxConcurrency: integer(get('maxConcurrency'), 'maxConcurrency', 2, 1000),
    publisher: publisher(string(get('publisherAccountId')), string(get('publisherExternalId'))),
  };
}

/** An AWS account id (12 digits) and an optional ExternalId (2-1224 of the characters STS accepts). */
function publisher(accountId: string | undefined, externalId: string | undefined): PublisherAccount | undefined {
  if (accountId === undefined) {
    if (externalId !== undefined) throw new Error('context publisherExternalId needs publisherAccountId');
    return undefined;
  }
  if (!/^\d{12}$/.test(accountId)) throw new Error(`context publisherAccountId must be a 12-digit AWS account id, got ${JSON.stringify(accountId)}`);
  if (externalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(externalId)) {
    throw new Error('context publisherExternalId must be 2-1224 letters, digits or +=,.@:/-_');
  }
  return { accountId, externalId };
}

function string(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return String(v);
}

function boolean(v: unknown, key: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(v)}`);
}

function number(v: unknown, key: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`context ${key} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

/** A whole number in [min, max] (an EventBridge rate takes whole minutes; SQS maximum concurrency is 2-1000). */
function integer(v: unknown, key: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`context ${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** An https URL without a trailing slash (link URLs are built under it). */
function httpsUrl(v: string | undefined): string | undefined {
  if (v !== undefined && !/^https:\/\/[^\s/]+(\/[^\s]*)?$/.test(v)) throw new Error(`context publicUrl must be an https URL, got ${JSON.stringify(v)}`);
  return v?.replace(/\/+$/, '');
}

function email(v: string | undefined): string | undefined {
  if (v !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v)) throw new Error(`context alarmEmail is not an e-mail address: ${v}`);
  return v;
}
