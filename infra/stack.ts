import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { FLASHDUTY_ACTIONS_QUEUE, METRICS_NAMESPACE, QUEUES, SERVICE_NAME, visibilityTimeoutSeconds } from '../lib/contracts/deployment';
import { DINGTALK_URLS, FLASHDUTY_URLS, type EnvMap } from '../lib/contracts/env';
import { CALLBACK_ROUTE, CARD_CALLBACK_ROUTE, HOMEPAGE_ROUTE, LINK_PAGE_ROUTE, LINK_POST_ROUTE, type RouteSpec } from '../lib/contracts/routes';
import { KEY } from '../lib/contracts/tableKeys';
import { Alarms } from './alarms';
import { grantTableAccess, TABLE_ACCESS, throttleRoutes, type TableAccess } from './grants';
import { Dashboard } from './dashboard';
import { PublisherRole } from './publisher';
import { bundledFunction, PROJECT_ROOT } from './lambda';
import { DEFAULT_HOMEPAGE_THROTTLE, DEFAULT_LINK_THROTTLE, DEFAULT_SENDER_MAX_CONCURRENCY, DEFAULT_THROTTLE, DEFAULT_UNPARK_MINUTES, type DingtalkBridgeStackProps } from './props';

/** The handlers, one per `functions/<name>.ts`. */
export type HandlerName = 'callback' | 'events' | 'sender' | 'drain' | 'unpark' | 'homepage' | 'actions' | 'link';

type QueueSettings = (typeof QUEUES)[keyof typeof QUEUES];

/** Variables the functions get besides the environment contract: Powertools' service and metrics namespace. */
export interface PowertoolsEnv {
  readonly POWERTOOLS_SERVICE_NAME: string;
  readonly POWERTOOLS_METRICS_NAMESPACE: string;
}

/** The functions' environment: the contract (lib/contracts/env.ts) and {@link PowertoolsEnv}. */
export type FunctionEnv = EnvMap & PowertoolsEnv;

/** A work queue and the dead-letter queue it redrives to. */
export interface QueueWithDlq {
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;
  readonly settings: QueueSettings;
}

/** A route served without an authorizer, and why that is safe. */
export type PublicRoute = RouteSpec & { readonly publicBecause: string };

/** What a handler does, in terms of the resources it touches. */
export interface HandlerSpec {
  readonly description: string;
  /**
   * The HTTP route (or routes) it serves (lib/contracts/routes.ts). Routes have no API Gateway
   * authorizer (DingTalk cannot present one): `publicBecause` states how the handler itself
   * authenticates or why none is needed.
   */
  readonly route?: PublicRoute | readonly PublicRoute[];
  /** The queue it consumes: SQS event source with partial batch failures, timeout from QUEUES. */
  readonly consumes?: QueueWithDlq;
  /** With `consumes`: the most concurrent invocations its event source starts. @default no limit but the account's */
  readonly maxConcurrency?: number;
  /**
   * Runs on an EventBridge schedule at this rate (whole minutes). Invoked asynchronously without
   * retries: the next run is the retry, and a failed run raises the function's errors alarm.
   */
  readonly every?: Duration;
  /** The partitions it reads and writes (infra/grants.ts, TABLE_ACCESS). */
  readonly table: TableAccess;
  /** Queues it may send to (sqs:SendMessage only). */
  readonly sendsTo?: sqs.IQueue[];
  /** @default the consumed queue's consumerTimeoutSeconds, else 10 s */
  readonly timeout?: Duration;
}

/**
 * dingtalk-bridge on AWS, top to bottom as in docs/DESIGN.md: storage, queues, HTTP API, functions
 * and their wiring, the Flashduty publisher policy (and role), alarms, the dashboard, outputs.
 */
export class DingtalkBridgeStack extends Stack {
  readonly table: dynamodb.Table;
  readonly events: QueueWithDlq;
  readonly notify: QueueWithDlq;
  readonly drain: QueueWithDlq;
  /** Verified card button presses, for the actions function (docs/two-way.md). */
  readonly actions: QueueWithDlq;
  /** The outbound actions queue Flashduty reads; the bridge only sends to it (no consumer, no DLQ). */
  readonly flashdutyActions: sqs.Queue;
  /** Flashduty's reader of the outbound actions queue: receive and delete there, nothing else. */
  readonly actionsConsumerPolicy: iam.ManagedPolicy;
  readonly api: HttpApi;
  readonly apiStage: HttpStage;
  readonly functions: Readonly<Record<HandlerName, NodejsFunction>>;
  readonly publisherPolicy: iam.ManagedPolicy;
  /** With `publisher`: the role Flashduty assumes from its own account. */
  readonly publisherRole?: PublisherRole;
  readonly alarms: Alarms;
  readonly dashboard: Dashboard;

  private readonly removalPolicy: RemovalPolicy;
  private readonly functionEnvironment: Readonly<Record<string, string>>;
  private readonly routes: Partial<Record<HandlerName, HttpRoute[]>> = {};
  /** The API routes by `METHOD path`, for their throttles. */
  private readonly routesByKey: Record<string, HttpRoute[]> = {};

  constructor(scope: Construct, id: string, props: DingtalkBridgeStackProps = {}) {
    super(scope, id, { description: 'dingtalk-bridge: Flashduty to DingTalk notifications, callbacks and war rooms', ...props });
    const retain = props.retain ?? true;
    this.removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // Storage: one table (tenants, group links, tokens, counters, dedupe), encrypted with our own key.
    const tableKey = new kms.Key(this, 'TableKey', {
      description: 'dingtalk-bridge table encryption (tenant secrets live in this table)',
      enableKeyRotation: true,
      removalPolicy: this.removalPolicy,
    });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: KEY.pk, type: dynamodb.AttributeType.STRING },
      sortKey: { name: KEY.sk, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: KEY.ttl,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: tableKey,
      deletionProtection: retain,
      removalPolicy: this.removalPolicy,
    });

    // Queues: DingTalk events in, Flashduty notifications in; each with a dead-letter queue.
    this.events = queueWithDlq(this, 'Events', QUEUES.events);
    this.notify = queueWithDlq(this, 'Notify', QUEUES.notify);
    // Drain requests: "send this app's backlog" (lib/lanes), written by the bridge only.
    this.drain = queueWithDlq(this, 'Drain', QUEUES.drain);
    // Card button presses the callback verified; the actions function hands each to Flashduty.
    this.actions = queueWithDlq(this, 'Actions', QUEUES.actions);
    // What goes back to Flashduty (actions contract): Flashduty reads it, 14 days to do so. Its
    // consumer is Flashduty's, so is the choice of a DLQ (a message it cannot read stays until expiry).
    this.flashdutyActions = new sqs.Queue(this, 'FlashdutyActionsQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(FLASHDUTY_ACTIONS_QUEUE.retentionDays),
    });
    acknowledge(this.flashdutyActions, 'SQS3', 'The outbound actions queue is consumed by Flashduty, not by the bridge; a redrive policy belongs to its consumer. Messages are kept 14 days (the SQS maximum) for it.');

    // HTTP API: DingTalk callbacks and the in-app homepage.
    const apiThrottle = props.apiThrottle ?? DEFAULT_THROTTLE;
    const { api, stage, accessLogs } = httpApi(this, apiThrottle, this.removalPolicy);
    this.api = api;
    this.apiStage = stage;

    // Functions and wiring. Every function gets the same environment, checked against the contract.
    this.functionEnvironment = {
      TABLE_NAME: this.table.tableName,
      EVENTS_QUEUE_URL: this.events.queue.queueUrl,
      EVENTS_DLQ_URL: this.events.dlq.queueUrl,
      NOTIFY_QUEUE_URL: this.notify.queue.queueUrl,
      NOTIFY_DLQ_URL: this.notify.dlq.queueUrl,
      DRAIN_QUEUE_URL: this.drain.queue.queueUrl,
      ACTIONS_QUEUE_URL: this.actions.queue.queueUrl,
      ACTIONS_DLQ_URL: this.actions.dlq.queueUrl,
      FLASHDUTY_ACTIONS_QUEUE_URL: this.flashdutyActions.queueUrl,
      FLASHDUTY_API_URL: props.flashdutyApiUrl ?? FLASHDUTY_URLS.api,
      DINGTALK_API_URL: props.dingtalkApiUrl ?? DINGTALK_URLS.api,
      DINGTALK_OAPI_URL: props.dingtalkOapiUrl ?? DINGTALK_URLS.oapi,
      // Card callbacks are registered (lib/cards/registration.ts) and link pages signed under it; the
      // API's endpoint (only its id, so no cycle) unless a custom domain is given (-c publicUrl).
      PUBLIC_URL: props.publicUrl ?? this.api.apiEndpoint,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    } satisfies FunctionEnv;
    this.functions = {
      callback: this.addHandler('callback', {
        description: 'DingTalk callbacks: events (verify, decrypt, answer, queue) and card button presses (verify, queue the action)',
        route: [
          {
            ...CALLBACK_ROUTE,
            publicBecause: 'DingTalk cannot present IAM, JWT or authorizer credentials; the handler authenticates every push by its SHA-1 signature over token, timestamp, nonce and body, a timestamp window and the AES receiver id, and rejects anything else with 4xx before touching the queue.',
          },
          {
            ...CARD_CALLBACK_ROUTE,
            publicBecause: "DingTalk's card callback cannot present credentials either; the handler checks the HMAC-SHA256 signature of the timestamp with the tenant's apiSecret, a 120 s window, the organisation, a card the bridge sent, and refuses replays, before anything is queued (docs/two-way.md).",
          },
        ],
        table: TABLE_ACCESS.callback,
        sendsTo: [this.events.queue, this.actions.queue],
        timeout: Duration.seconds(10),
      }),
      events: this.addHandler('events', {
        description: 'DingTalk events: group renamed, cool app installed or uninstalled',
        consumes: this.events,
        table: TABLE_ACCESS.events,
        // Records that can never be processed go straight to the dead-letter queue, with the reason.
        sendsTo: [this.events.dlq],
      }),
      sender: this.addHandler('sender', {
        description: 'Flashduty notifications and war rooms to DingTalk',
        consumes: this.notify,
        // A bound on the poller rather than reserved concurrency: reserving would take capacity from the
        // account's unreserved pool (and fails on accounts with the minimum limit), and a consumer at
        // its reserved limit is throttled, returning messages to the queue with a receive counted
        // towards the dead-letter queue. maxConcurrency makes SQS start fewer invocations instead.
        // It also bounds the writers contending for the shared per-app rate limiter and quota items.
        maxConcurrency: props.senderMaxConcurrency ?? DEFAULT_SENDER_MAX_CONCURRENCY,
        table: TABLE_ACCESS.sender,
        // Deferred messages and delayed retries go back on its own queue; messages that can never be
        // delivered go straight to the dead-letter queue; a lane's backlog gets a drain request.
        // ChangeMessageVisibility (backoff) on the notify queue comes with the event source's consume grant.
        sendsTo: [this.notify.queue, this.notify.dlq, this.drain.queue],
      }),
      drain: this.addHandler('drain', {
        description: "Lanes: sends an app's backlog at the app's pace, then hands on",
        consumes: this.drain,
        // One request per app at a time does the work (the lane lease); the rest end at once.
        maxConcurrency: props.senderMaxConcurrency ?? DEFAULT_SENDER_MAX_CONCURRENCY,
        table: TABLE_ACCESS.drain,
        // Retries and deferrals go back on the notify queue, hopeless messages to its DLQ, and the
        // lane is handed on with a drain request.
        sendsTo: [this.notify.queue, this.notify.dlq, this.drain.queue],
      }),
      unpark: this.addHandler('unpark', {
        description: 'Re-queues messages parked for the monthly quota once their organisation has room',
        every: Duration.minutes(props.unparkMinutes ?? DEFAULT_UNPARK_MINUTES),
        // Reads the PARKED work list, claims parked items with conditional updates, deletes them once
        // re-queued; an item that can never be sent goes to the notify DLQ with its reason. Also
        // asks for a drain of any app backlog whose lane holder died (lib/lanes).
        table: TABLE_ACCESS.unpark,
        sendsTo: [this.notify.queue, this.notify.dlq, this.drain.queue],
        timeout: Duration.seconds(60),
      }),
      actions: this.addHandler('actions', {
        description: 'Card actions to Flashduty: the outbound actions queue, or the Flashduty Open API',
        consumes: this.actions,
        table: TABLE_ACCESS.actions,
        // The outbound queue (queue mode, member links), incident.update on the notify queue (api
        // mode), and what can never be handed over to its DLQ. ChangeMessageVisibility (backoff) on
        // the actions queue comes with the event source's consume grant.
        sendsTo: [this.flashdutyActions, this.notify.queue, this.actions.dlq],
      }),
      homepage: this.addHandler('homepage', {
        description: 'Homepage shown inside DingTalk: link status',
        route: {
          ...HOMEPAGE_ROUTE,
          publicBecause: 'Opened by the DingTalk client as the app homepage, which sends no credentials. Accepted exposure: whoever knows a tenant id sees its link status (CorpId, Client ID, edition, usage, linked groups), never clientSecret, aesKey or token; its own route throttle bounds scraping.',
        },
        table: TABLE_ACCESS.homepage,
      }),
      link: this.addHandler('link', {
        description: 'Link page: pairs a DingTalk user with a Flashduty member (signed link, in-app auth code)',
        route: [LINK_PAGE_ROUTE, LINK_POST_ROUTE].map((r) => ({
          ...r,
          publicBecause: 'Opened by a member inside the DingTalk client, which sends no credentials. The handler verifies the link\'s HMAC-SHA256 signature and expiry before anything else, and links only the DingTalk user whose one-time auth code DingTalk itself exchanges (getuserinfo with the tenant\'s app token); its own route throttle bounds guessing.',
        })),
        table: TABLE_ACCESS.link,
        // The member.link message, for Flashduty.
        sendsTo: [this.flashdutyActions],
      }),
    };

    // Each public route throttled on its own: junk on the homepage cannot starve DingTalk's callbacks.
    throttleRoutes(this.apiStage, [
      { route: CALLBACK_ROUTE, routes: this.routesByKey[routeKey(CALLBACK_ROUTE)] ?? [], ...apiThrottle },
      { route: CARD_CALLBACK_ROUTE, routes: this.routesByKey[routeKey(CARD_CALLBACK_ROUTE)] ?? [], ...apiThrottle },
      { route: HOMEPAGE_ROUTE, routes: this.routes.homepage ?? [], ...(props.homepageThrottle ?? DEFAULT_HOMEPAGE_THROTTLE) },
      { route: LINK_PAGE_ROUTE, routes: this.routesByKey[routeKey(LINK_PAGE_ROUTE)] ?? [], ...(props.linkThrottle ?? DEFAULT_LINK_THROTTLE) },
      { route: LINK_POST_ROUTE, routes: this.routesByKey[routeKey(LINK_POST_ROUTE)] ?? [], ...(props.linkThrottle ?? DEFAULT_LINK_THROTTLE) },
    ]);

    // Flashduty's publisher may send to the notify queue, and do nothing else.
    this.publisherPolicy = new iam.ManagedPolicy(this, 'NotifyPublisherPolicy', {
      description: 'Flashduty publisher: sqs:SendMessage on the dingtalk-bridge notify queue only',
      statements: [new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.notify.queue.queueArn] })],
    });
    // Flashduty in its own AWS account: a role it assumes with the ExternalId, holding that policy only.
    // Flashduty's reader of the outbound actions queue (docs/two-way.md): receive, delete, nothing else.
    this.actionsConsumerPolicy = new iam.ManagedPolicy(this, 'FlashdutyActionsConsumerPolicy', {
      description: 'Flashduty: read and delete messages of the dingtalk-bridge outbound actions queue only',
      statements: [new iam.PolicyStatement({ actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'], resources: [this.flashdutyActions.queueArn] })],
    });
    if (props.publisher) {
      this.publisherRole = new PublisherRole(this, 'FlashdutyPublisher', { ...props.publisher, policies: [this.publisherPolicy, this.actionsConsumerPolicy] });
    }

    // Alarms, and the operator's dashboard.
    const deadLetterQueues = { events: this.events.dlq, notify: this.notify.dlq, drain: this.drain.dlq, actions: this.actions.dlq };
    this.alarms = new Alarms(this, 'Alarms', { deadLetterQueues, api: this.api, accessLogs, notifyQueue: this.notify.queue, functions: this.functions, email: props.alarmEmail });
    this.dashboard = new Dashboard(this, 'Operations', {
      dashboardName: this.stackName,
      functions: this.functions,
      queues: { events: this.events.queue, notify: this.notify.queue, drain: this.drain.queue, actions: this.actions.queue, flashdutyActions: this.flashdutyActions },
      deadLetterQueues,
      callbacks: this.alarms.callbacks,
      accessLogs,
      alarms: this.alarms.alarms,
    });

    // Outputs: what to paste into DingTalk, Flashduty and the tenant CLI.
    const out = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    /** The route's URL with its path parameters left as `<placeholders>`, e.g. `.../dingtalk/<tenantId>/callback`. */
    const urlOf = (route: RouteSpec): string => `${this.api.apiEndpoint}${route.path.replace(/\{(\w+)\}/g, '<$1>')}`;
    out('ApiUrl', this.api.apiEndpoint, 'HTTP API base URL (no trailing slash)');
    out('CallbackUrl', urlOf(CALLBACK_ROUTE), 'DingTalk event subscription Request URL (replace <tenantId>)');
    out('HomepageUrl', urlOf(HOMEPAGE_ROUTE), 'DingTalk app homepage URL (replace <tenantId>)');
    out('CardCallbackUrl', urlOf(CARD_CALLBACK_ROUTE), 'Card button presses (registered with DingTalk by the bridge; replace <tenantId>)');
    out('TableName', this.table.tableName, 'DynamoDB table: TABLE_NAME for `npm run tenant`');
    out('NotifyQueueUrl', this.notify.queue.queueUrl, 'Flashduty publishes notify messages here');
    out('NotifyQueueArn', this.notify.queue.queueArn, 'Notify queue ARN');
    out('NotifyPublisherPolicyArn', this.publisherPolicy.managedPolicyArn, 'Attach to the IAM role or user Flashduty publishes with');
    if (this.publisherRole) {
      out('PublisherRoleArn', this.publisherRole.role.roleArn, 'Hand to Flashduty: the role it assumes to send to NotifyQueueUrl, with PublisherExternalId');
      out('PublisherExternalId', this.publisherRole.externalId, 'Hand to Flashduty: the ExternalId PublisherRoleArn requires');
    }
    out('EventsQueueUrl', this.events.queue.queueUrl, 'DingTalk events queue');
    out('EventsDlqUrl', this.events.dlq.queueUrl, 'Events dead-letter queue');
    out('NotifyDlqUrl', this.notify.dlq.queueUrl, 'Notify dead-letter queue');
    out('DrainQueueUrl', this.drain.queue.queueUrl, "Drain requests (internal): send an app's backlog");
    out('LinkUrl', urlOf(LINK_PAGE_ROUTE), 'Link pages (signed: npm run tenant -- link-url <tenantId> <memberId>, with PUBLIC_URL set to ApiUrl)');
    out('DrainDlqUrl', this.drain.dlq.queueUrl, 'Drain dead-letter queue');
    out('ActionsQueueUrl', this.actions.queue.queueUrl, 'Card actions (internal): verified button presses');
    out('ActionsDlqUrl', this.actions.dlq.queueUrl, 'Actions dead-letter queue');
    out('FlashdutyActionsQueueUrl', this.flashdutyActions.queueUrl, 'Hand to Flashduty: the outbound actions queue it reads (button actions, member.link)');
    out('FlashdutyActionsQueueArn', this.flashdutyActions.queueArn, 'Outbound actions queue ARN');
    out('FlashdutyActionsConsumerPolicyArn', this.actionsConsumerPolicy.managedPolicyArn, 'Attach to the IAM role Flashduty reads the outbound actions queue with');
    // ARNs for `aws sqs start-message-move-task --source-arn` (a redrive back to the source queue).
    out('EventsDlqArn', this.events.dlq.queueArn, 'Events dead-letter queue ARN');
    out('NotifyDlqArn', this.notify.dlq.queueArn, 'Notify dead-letter queue ARN');
    out('DrainDlqArn', this.drain.dlq.queueArn, 'Drain dead-letter queue ARN');
    out('ActionsDlqArn', this.actions.dlq.queueArn, 'Actions dead-letter queue ARN');
    out('DashboardUrl', `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${this.stackName}`, 'CloudWatch dashboard');
    out('UnparkFunctionName', this.functions.unpark.functionName, 'Invoke to re-queue parked messages now (e.g. after raising a monthlyQuota) instead of waiting for the schedule');
    if (this.alarms.topic) out('AlarmTopicArn', this.alarms.topic.topicArn, 'SNS topic every alarm notifies');
  }

  /**
   * Adds the Lambda function for `functions/<name>.ts` with its route, queue or schedule and its
   * grants. Called from the constructor, before the alarms, which cover every function added here.
   */
  private addHandler(name: HandlerName, spec: HandlerSpec): NodejsFunction {
    const id = `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    const consumerTimeout = spec.consumes && Duration.seconds(spec.consumes.settings.consumerTimeoutSeconds);
    const fn = bundledFunction(this, `${id}Function`, {
      entry: join(PROJECT_ROOT, 'functions', `${name}.ts`),
      description: spec.description,
      timeout: spec.timeout ?? consumerTimeout ?? Duration.seconds(10),
      environment: this.functionEnvironment,
      logRemovalPolicy: this.removalPolicy,
      retryAttempts: spec.every ? 0 : undefined,
    });

    const served: readonly PublicRoute[] = spec.route === undefined ? [] : 'path' in spec.route ? [spec.route] : spec.route;
    if (served.length) {
      const integration = new HttpLambdaIntegration(`${id}Integration`, fn);
      for (const r of served) {
        const routes = this.api.addRoutes({ path: r.path, methods: [HttpMethod[r.method]], integration });
        for (const route of routes) acknowledge(route, 'APIG4', r.publicBecause);
        this.routes[name] = [...(this.routes[name] ?? []), ...routes];
        this.routesByKey[routeKey(r)] = routes;
      }
    }
    if (spec.consumes) {
      const q = spec.consumes.settings;
      fn.addEventSource(
        new SqsEventSource(spec.consumes.queue, {
          batchSize: q.batchSize,
          maxBatchingWindow: Duration.seconds(q.maxBatchingWindowSeconds),
          reportBatchItemFailures: true,
          maxConcurrency: spec.maxConcurrency,
        }),
      );
    }
    if (spec.every) {
      new events.Rule(this, `${id}Schedule`, {
        description: `Runs the ${name} function every ${spec.every.toHumanString()}`,
        schedule: events.Schedule.rate(spec.every),
        // A run that cannot start before the next one is due is dropped: the next one does its work.
        targets: [new LambdaFunction(fn, { maxEventAge: spec.every, retryAttempts: 2 })],
      });
    }
    // Only the partitions it owns or reads, never a Scan (infra/grants.ts).
    grantTableAccess(this.table, fn, spec.table);
    for (const queue of spec.sendsTo ?? []) queue.grant(fn, 'sqs:SendMessage');
    acknowledge(fn, 'L1', 'docs/DESIGN.md fixes the runtime at nodejs22.x, the Node.js line the code and tests target; moving to a newer runtime is a deliberate change, not a lint fix.');
    acknowledge(fn.role!, 'IAM5[Resource::*]', 'Added by Lambda active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions, so X-Ray requires Resource "*" for them.');
    return fn;
  }
}

/** `METHOD path`, as the stage's route settings name a route. */
const routeKey = (r: RouteSpec): string => `${r.method} ${r.path}`;

/** Accepts a cdk-nag AwsSolutions finding on `scope` (and below), with the reason on record. */
function acknowledge(scope: Construct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-${rule}`, reason });
}

/** A queue that redrives to its dead-letter queue after maxReceiveCount receives; SSE and TLS-only. */
function queueWithDlq(scope: Construct, id: string, settings: QueueSettings): QueueWithDlq {
  const common = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;
  const dlq = new sqs.Queue(scope, `${id}Dlq`, { ...common, retentionPeriod: Duration.days(14) });
  const queue = new sqs.Queue(scope, `${id}Queue`, {
    ...common,
    visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(settings)),
    deadLetterQueue: { queue: dlq, maxReceiveCount: settings.maxReceiveCount },
  });
  return { queue, dlq, settings };
}

/** The HTTP API with a throttled `$default` stage that writes JSON access logs (to `accessLogs`). */
function httpApi(scope: Construct, throttle: { rateLimit: number; burstLimit: number }, removalPolicy: RemovalPolicy): { api: HttpApi; stage: HttpStage; accessLogs: logs.LogGroup } {
  const api = new HttpApi(scope, 'Api', { description: 'dingtalk-bridge: DingTalk callbacks and homepage', createDefaultStage: false });
  const accessLogs = new logs.LogGroup(scope, 'ApiAccessLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy });
  const stage = new HttpStage(scope, 'ApiDefaultStage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle,
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          method: '$context.httpMethod',
          routeKey: '$context.routeKey',
          path: '$context.path',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          responseLatency: '$context.responseLatency',
          integrationLatency: '$context.integrationLatency',
          integrationStatus: '$context.integrationStatus',
          integrationError: '$context.integrationErrorMessage',
          error: '$context.error.message',
        }),
      ),
    },
  });
  return { api, stage, accessLogs };
}
