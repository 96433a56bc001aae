import { Validations } from 'aws-cdk-lib';
import type { CfnStage, HttpRoute, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RouteSpec } from '../lib/contracts/routes';
import { KEY, PARTITIONS, type PartitionKind } from '../lib/contracts/tableKeys';
import { RECORD_FIELDS } from '../lib/store/secrets';

/**
 * Who may touch which items of the table: for each function, the partitions it reads and the ones
 * it writes (lib/contracts/tableKeys.ts, PARTITIONS). Each becomes an IAM statement on the table
 * conditioned on `ForAllValues:StringLike` `dynamodb:LeadingKeys`: a request for any other
 * partition is denied. No function is granted Scan: a Scan has no leading key, so the condition
 * would not bound it, and none needs one (work lists are partitions: `PARKED`, `LANES`).
 * Reads of tenant items (`TENANT#*`) are a statement of their own, also conditioned on the
 * attributes read (`dynamodb:Attributes` within the record's non-secret fields, `dynamodb:Select`
 * only SPECIFIC_ATTRIBUTES): a tenant item not yet stripped by `tenant migrate --strip` still holds
 * its secrets, and no function may read them (docs/DESIGN.md, "Table map").
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
  // The record and the app secret (access tokens); never the callback's secrets. Members' links
  // (notify.to.memberIds, docs/two-way.md), read only.
  read: ['tenant', 'appSecret', 'link'],
  // Tokens, quota, rate limits, lanes, backlogs, parking, mobiles, delivery records, war rooms;
  // cards: the card callback's secret (registered by the sender), incidents' states and cards.
  write: ['app', 'org', 'rate', 'lanes', 'backlog', 'park', 'parkedOrgs', 'corp', 'notify', 'chats', 'cardSecret', 'incident', 'card'],
};

/** Every function's table access: docs/DESIGN.md, "Table map". */
export const TABLE_ACCESS = {
  // Its own secret items: the receiver id, aesKey and token (events), the card apiSecret (presses);
  // for a press also the tenant record (corpId, locale), the card, the presser's link and the
  // incident's state; it writes only the replay records (docs/two-way.md, "The card callback").
  callback: { read: ['callbackSecret', 'cardSecret', 'card', 'link', 'incident', 'tenant'], write: ['press'] },
  // Groups, war-room titles, its dedupe records and event counts; the tenant record for its corpId.
  events: { read: ['tenant'], write: ['chats', 'eventDedupe', 'eventCount'] },
  sender: SENDING,
  drain: SENDING,
  // Parked messages, the work list and the parked counts (ORG#<corpId> / PARKED); quotas and
  // tenants' limits to know the room; lanes and backlogs to find a dead holder's. No secret: it
  // sends nothing to DingTalk.
  unpark: { read: ['tenant', 'lanes', 'backlog'], write: ['park', 'parkedOrgs', 'org'] },
  // The tenant record (actionsVia) and its Flashduty APP Key; its own idempotency records.
  actions: { read: ['tenant', 'flashdutySecret'], write: ['action'] },
  // Public: the tenant record, its groups, the month's counter and the parked count (both ORG#).
  homepage: { read: ['tenant', 'chats', 'org'], write: [] },
  // The link page and its POST (docs/two-way.md, "Linking"): the record (corpId, clientId), the
  // link-signing key (read only: URLs are minted by the operator's CLI), the app secret for the
  // getuserinfo token; writes the links, and what a DingTalk call through the gate writes: the
  // cached token and its lease (APP#), the month's call counter (ORG#), the rate limiter (RATE#).
  link: { read: ['tenant', 'appSecret', 'linkSecret'], write: ['link', 'app', 'org', 'rate'] },
} as const satisfies Record<string, TableAccess>;

/** The LeadingKeys pattern of a partition kind: `TENANT#*`, or the fixed key itself (`LANES`). */
export const leadingKeyPattern = (kind: PartitionKind): string => (PARTITIONS[kind].endsWith('#') ? `${PARTITIONS[kind]}*` : PARTITIONS[kind]);

/** The attributes a read of a tenant item may name: the record's fields and the keys (never a secret). */
export const TENANT_READ_ATTRIBUTES: readonly string[] = [KEY.pk, KEY.sk, ...RECORD_FIELDS];

const statement = (table: dynamodb.ITable, actions: readonly string[], kinds: readonly PartitionKind[], attributes?: readonly string[]) =>
  new iam.PolicyStatement({
    actions: [...actions],
    resources: [table.tableArn],
    conditions: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...new Set(kinds)].map(leadingKeyPattern) },
      ...(attributes && { 'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...attributes] }, StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' } }),
    },
  });

/**
 * Grants `fn` exactly `access` on the table's items, and the table's key as the access needs it
 * (decrypt to read, encrypt too to write).
 */
export function grantTableAccess(table: dynamodb.ITable, fn: IFunction, access: TableAccess): void {
  const role = fn.role!;
  const reads = [...access.read, ...access.write];
  const others = reads.filter((k) => k !== 'tenant');
  if (others.length) role.addToPrincipalPolicy(statement(table, READ_ACTIONS, others));
  // Projected reads only (lib/store/secrets.ts, recordProjection): an old item's secrets stay out of reach.
  if (reads.includes('tenant')) role.addToPrincipalPolicy(statement(table, READ_ACTIONS, ['tenant'], TENANT_READ_ATTRIBUTES));
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
