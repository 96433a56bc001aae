import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME, TENANT_DIMENSION, TENANT_METRICS, type TenantMetricName } from '../lib/contracts/deployment';
import { CALLBACK_ROUTE } from '../lib/contracts/routes';

/** The oldest message on the notify queue is a page this late: alarm at this age. */
export const OLDEST_NOTIFY_ALARM_SECONDS = 300;

/** Alarm when at least this % of the callbacks in 5 minutes were refused with 401 ... */
export const CALLBACK_401_ALARM_PERCENT = 50;
/** ... and at least this many (DingTalk retries a refused push: one stray request is not a secret mismatch). */
export const CALLBACK_401_MIN = 2;
/** A page this long (ms) from its first arrival on the notify queue to DingTalk raises PageLatency. */
export const PAGE_LATENCY_ALARM_MS = 5 * 60 * 1000;

export interface AlarmsProps {
  /** Dead-letter queues by name: any message in one is a failure that retries could not fix. */
  readonly deadLetterQueues: Record<string, IQueue>;
  readonly api: IHttpApi;
  /** The HTTP API's JSON access logs: the callback's requests and 401s are counted from them. */
  readonly accessLogs: logs.ILogGroup;
  /** The notify queue: the age of its oldest message is how late a page is. */
  readonly notifyQueue: IQueue;
  /** Functions by handler name: each gets an errors and a throttles alarm. */
  readonly functions: Record<string, IFunction>;
  /** When set, an SNS topic with this e-mail subscription receives every alarm and its recovery. */
  readonly email?: string;
}

/**
 * A CloudWatch Metrics Insights query over a per-tenant metric (lib/contracts/deployment.ts), one
 * series per tenant. In an alarm each series is a contributor of its own, named by its tenantId
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Metrics_Insights_Alarm.html).
 *
 * @example
 * perTenantQuery('MAX', 'QuotaUsedPercent')
 * // SELECT MAX(QuotaUsedPercent) FROM SCHEMA("DingtalkBridge", service, tenantId) GROUP BY tenantId ORDER BY MAX() DESC
 */
export const perTenantQuery = (fn: 'MAX' | 'SUM', metric: TenantMetricName): string =>
  `SELECT ${fn}(${metric}) FROM SCHEMA("${METRICS_NAMESPACE}", service, ${TENANT_DIMENSION}) GROUP BY ${TENANT_DIMENSION} ORDER BY ${fn}() DESC`;

/**
 * The operational alarms: messages in a dead-letter queue, HTTP API 5xx, function errors and
 * throttled invocations, late pages (the notify queue's oldest message), refused callbacks (401
 * rate), and per tenant: parked messages and the monthly quota at 80 % and 95 %. Every alarm treats
 * missing data as "not breaching" (quiet periods are fine).
 */
export class Alarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly topic?: sns.Topic;
  /** Callback requests and those refused with 401, counted from the access logs (for the dashboard too). */
  readonly callbacks: { readonly requests: cloudwatch.Metric; readonly unauthorized: cloudwatch.Metric };

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);

    for (const [name, dlq] of Object.entries(props.deadLetterQueues)) {
      this.add(`${pascal(name)}DlqNotEmpty`, `A message reached the ${name} dead-letter queue; inspect it and redrive once fixed.`,
        dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }));
    }

    this.add('Api5xx', 'The HTTP API answered 5xx (DingTalk retries a failed push twice, then parks it).',
      props.api.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }));

    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(`${pascal(name)}Errors`, `The ${name} function failed (an uncaught error or a timeout).`,
        fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }));
      this.add(`${pascal(name)}Throttles`, `Invocations of the ${name} function were throttled (account or reserved concurrency).`,
        fn.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }));
    }

    // Page latency: a message waiting this long on the notify queue has not reached DingTalk.
    this.add(
      'NotifyOldestMessageAge',
      `A message has waited ${OLDEST_NOTIFY_ALARM_SECONDS / 60} minutes or more on the notify queue: pages are late. Check the sender's errors and throttles, DingTalk's answers (Throttled) and the dashboard's queue depth.`,
      props.notifyQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      OLDEST_NOTIFY_ALARM_SECONDS,
    );

    // Refused callbacks: what a token / aesKey mismatch looks like (e.g. after a rotation on one side only).
    this.callbacks = callbackMetrics(this, props.accessLogs);
    this.add(
      'Callback401Rate',
      `${CALLBACK_401_ALARM_PERCENT} % or more of DingTalk's callbacks were refused with 401 (bad signature, stale timestamp, wrong receiver id): the tenant's token or aesKey differs from DingTalk's. The dashboard's "Refused callbacks by path" names the tenant.`,
      new cloudwatch.MathExpression({
        expression: `IF(unauthorized >= ${CALLBACK_401_MIN}, 100 * unauthorized / requests, 0)`,
        usingMetrics: this.callbacks,
        period: Duration.minutes(5),
        label: 'Callbacks refused with 401 (%)',
      }),
      CALLBACK_401_ALARM_PERCENT,
    );

    // Per tenant (one contributor per tenantId): messages parked for the monthly quota, and the quota itself.
    this.add(
      'ParkedMessages',
      'Messages of a tenant (the alarm contributor\'s tenantId) were parked: its organisation\'s monthly DingTalk quota is used up. npm run tenant -- parked <tenantId> lists them; raise monthlyQuota or wait for the month to turn.',
      perTenant(TENANT_METRICS.parked, 'SUM'),
    );
    for (const pct of [80, 95]) {
      this.add(
        `QuotaUsed${pct}`,
        `A tenant's organisation (the alarm contributor's tenantId) has used ${pct} % of its monthly DingTalk call quota; npm run tenant -- usage <tenantId> shows the forecast.`,
        perTenant(TENANT_METRICS.quotaUsedPercent, 'MAX'),
        pct,
        // Emitted only while calls are reserved: a used-up quota goes quiet, and must not read as OK.
        cloudwatch.TreatMissingData.IGNORE,
      );
    }

    // Per tenant: a page that reached DingTalk 5 minutes or more after it first reached the notify
    // queue (re-queued copies and backlogged messages count from their first arrival).
    this.add(
      'PageLatency',
      "A tenant's page (the alarm contributor's tenantId) reached DingTalk 5 minutes or more after Flashduty queued it: its app is backlogged (a storm at its QPS), or DingTalk keeps deferring it. The dashboard's latency widgets show which tenant and since when.",
      perTenant(TENANT_METRICS.deliveryLatency, 'MAX'),
      PAGE_LATENCY_ALARM_MS,
    );

    // DingTalk refused for its quota before the configured monthlyQuota was reached: the tenant's figure is wrong.
    this.add(
      'QuotaBelowConfigured',
      "DingTalk refused calls for its monthly quota below an organisation's configured monthlyQuota; npm run tenant -- usage <tenantId> shows DingTalk's limit: set monthlyQuota to it.",
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: 'QuotaBelowConfigured', dimensionsMap: { service: SERVICE_NAME }, period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
    );
    // A page sent again after an ambiguous answer: expected now and then; a burst means DingTalk or the network misbehaves.
    this.add(
      'PossibleDuplicates',
      'Pages were sent again after an ambiguous DingTalk answer (timeout, 5xx, reset): recipients may have got them twice. Sustained, check DingTalk and the network.',
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: 'PossibleDuplicates', dimensionsMap: { service: SERVICE_NAME }, period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      20,
    );

    if (props.email) {
      this.topic = new sns.Topic(this, 'Topic', { displayName: 'dingtalk-bridge alarms', enforceSSL: true });
      this.topic.addSubscription(new EmailSubscription(props.email));
      const action = new SnsAction(this.topic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /** One alarm that fires when the metric reaches `threshold` (default 1) in one period. */
  private add(id: string, description: string, metric: cloudwatch.IMetric, threshold = 1, missing = cloudwatch.TreatMissingData.NOT_BREACHING): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: missing,
      }),
    );
  }
}

/** A per-tenant metric as a Metrics Insights query over 5 minutes, one series per tenant. */
const perTenant = (metric: TenantMetricName, fn: 'MAX' | 'SUM'): cloudwatch.MathExpression =>
  new cloudwatch.MathExpression({ expression: perTenantQuery(fn, metric), period: Duration.minutes(5), label: `${metric} by tenant` });

/**
 * `CallbackRequests` and `CallbackUnauthorized` (namespace DingtalkBridge, no dimension): metric
 * filters on the HTTP API's JSON access log, which carries each request's route and status.
 */
function callbackMetrics(scope: Construct, accessLogs: logs.ILogGroup): { requests: cloudwatch.Metric; unauthorized: cloudwatch.Metric } {
  const route = logs.FilterPattern.stringValue('$.routeKey', '=', `${CALLBACK_ROUTE.method} ${CALLBACK_ROUTE.path}`);
  const count = (id: string, metricName: string, pattern: logs.IFilterPattern, defaultValue?: number) =>
    new logs.MetricFilter(scope, id, { logGroup: accessLogs, metricNamespace: METRICS_NAMESPACE, metricName, filterPattern: pattern, metricValue: '1', defaultValue }).metric({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.SUM,
    });
  return {
    requests: count('CallbackRequests', 'CallbackRequests', route),
    // 0 for every other logged request, so the rate has a value whenever DingTalk called.
    unauthorized: count('CallbackUnauthorized', 'CallbackUnauthorized', logs.FilterPattern.all(route, logs.FilterPattern.stringValue('$.status', '=', '401')), 0),
  };
}

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
