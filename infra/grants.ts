import { Validations } from 'aws-cdk-lib';
import type { CfnStage, HttpRoute, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RouteSpec } from '../lib/contracts/routes';
import { PARTITIONS, type PartitionKind } from '../lib/contracts/tableKeys';

/**
 * Who may touch which items of the table: for each function, the partitions it reads and the ones
 * it writes (lib/contracts/tableKeys.ts, PARTITIONS). Each becomes an IAM statement on the table
 * conditioned on `ForAllValues:StringLike` `dynamodb:LeadingKeys`: a request for any other
 * partition is denied. No function is granted Scan: a Scan has no leading key, so the condition
 * would not bound it, and none needs one (work lists are partitions: `PARKED`, `LANES`).
 * The operator's CLI runs with the operator's own credentials, outside these grants.
 */
export interface TableAccess {
  readonly read: readonly PartitionKind[];
  /** Partitions it writes (it may read them too). */
  readonly write: readonly PartitionKind[];
}

/** Point reads, key queries, and the condition checks of transactions. */
export const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'] as const;
/** Item writes, alone, batched or in TransactWriteItems. */
export const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'] as const;

const SENDING: TableAccess = {
  // The record and the app secret (access tokens); never the callback's secrets.
  read: ['tenant', 'appSecret'],
  // Tokens, quota, rate limits, lanes, backlogs, parking, mobiles, delivery records, war rooms.
  write: ['app', 'org', 'rate', 'lanes', 'backlog', 'park', 'parkedOrgs', 'corp', 'notify', 'chats'],
};

/** Every function's table access: docs/DESIGN.md, "Table map". */
export const TABLE_ACCESS = {
  // Only its own secret item: the receiver id, aesKey and token; one GetItem per push.
  callback: { read: ['callbackSecret'], write: [] },
  // Groups, war-room titles, its dedupe records and event counts; the tenant record for its corpId.
  events: { read: ['tenant'], write: ['chats', 'eventDedupe', 'eventCount'] },
  sender: SENDING,
  drain: SENDING,
  // Parked messages and the work list; quotas and tenants' limits to know the room; lanes and
  // backlogs to find a dead holder's. No secret: it sends nothing to DingTalk.
  unpark: { read: ['tenant', 'org', 'lanes', 'backlog'], write: ['park', 'parkedOrgs'] },
  // Public: the tenant record, its groups, the month's counter and the parked count.
  homepage: { read: ['tenant', 'chats', 'org', 'parkedOrgs'], write: [] },
} as const satisfies Record<string, TableAccess>;

/** The LeadingKeys pattern of a partition kind: `TENANT#*`, or the fixed key itself (`LANES`). */
export const leadingKeyPattern = (kind: PartitionKind): string => (PARTITIONS[kind].endsWith('#') ? `${PARTITIONS[kind]}*` : PARTITIONS[kind]);

const statement = (table: dynamodb.ITable, actions: readonly string[], kinds: readonly PartitionKind[]) =>
  new iam.PolicyStatement({
    actions: [...actions],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...new Set(kinds)].map(leadingKeyPattern) } },
  });

/**
 * Grants `fn` exactly `access` on the table's items, and the table's key as the access needs it
 * (decrypt to read, encrypt too to write).
 */
export function grantTableAccess(table: dynamodb.ITable, fn: IFunction, access: TableAccess): void {
  const role = fn.role!;
  role.addToPrincipalPolicy(statement(table, READ_ACTIONS, [...access.read, ...access.write]));
  if (access.write.length) role.addToPrincipalPolicy(statement(table, WRITE_ACTIONS, access.write));
  if (!table.encryptionKey) return;
  if (access.write.length) {
    table.encryptionKey.grantEncryptDecrypt(fn);
    for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason: "Added by grantEncryptDecrypt for the table's customer-managed key, which DynamoDB needs to encrypt written items; the statement is scoped to that one key's ARN." });
    }
  } else table.encryptionKey.grantDecrypt(fn);
}

/** A route's own throttle (requests/s, burst), apart from the stage's other routes. */
export interface RouteThrottle {
  readonly route: RouteSpec;
  readonly routes: readonly HttpRoute[];
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/**
 * Per-route throttling on the stage, so one route's traffic cannot use up another's: the stage's
 * route settings keyed `METHOD path`, the stage deployed after the routes it names.
 */
export function throttleRoutes(stage: HttpStage, throttles: readonly RouteThrottle[]): void {
  const cfn = stage.node.defaultChild as CfnStage;
  cfn.routeSettings = Object.fromEntries(
    throttles.map((t) => [`${t.route.method} ${t.route.path}`, { ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit }]),
  );
  for (const t of throttles) for (const r of t.routes) cfn.node.addDependency(r);
}
