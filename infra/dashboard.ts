import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, TENANT_DIMENSION, TENANT_METRICS, type TenantMetricName } from '../lib/contracts/deployment';
import { OLDEST_NOTIFY_ALARM_SECONDS } from './alarms';

export interface DashboardProps {
  readonly dashboardName: string;
  /** Functions by handler name. */
  readonly functions: Record<string, IFunction>;
  /** Work queues by name (events, notify, drain). */
  readonly queues: Record<string, IQueue>;
  /** Their dead-letter queues by name. */
  readonly deadLetterQueues: Record<string, IQueue>;
  /** Callback requests and those refused with 401 (from the access logs: infra/alarms.ts). */
  readonly callbacks: { readonly requests: cloudwatch.IMetric; readonly unauthorized: cloudwatch.IMetric };
  /** The HTTP API's JSON access logs: which tenant's callbacks were refused. */
  readonly accessLogs: ILogGroup;
  /** Shown on top, in their current state. */
  readonly alarms: cloudwatch.IAlarm[];
}

const PERIOD = Duration.minutes(5);

/**
 * The operator's CloudWatch dashboard, top to bottom: the alarms; per function errors and duration
 * (p50, p99); per queue depth and oldest-message age, and the dead-letter queues; per tenant calls
 * sent, throttled by DingTalk, deferred and parked, quota used and queue-to-DingTalk latency (p50,
 * p99); callbacks and the 401s among them, with the paths (tenants) refused.
 *
 * @example
 * new Dashboard(this, 'Dashboard', { dashboardName: this.stackName, functions, queues, deadLetterQueues, callbacks, accessLogs, alarms });
 */
export class Dashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const fns = Object.entries(props.functions);
    const perQueue = (queues: Record<string, IQueue>, metric: (q: IQueue, label: string) => cloudwatch.IMetric) => Object.entries(queues).map(([name, q]) => metric(q, name));
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period: PERIOD, ...extra });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 24, height: 4 }));
    this.dashboard.addWidgets(
      graph('Function errors', fns.map(([name, fn]) => fn.metricErrors({ label: name, period: PERIOD, statistic: cloudwatch.Stats.SUM }))),
      graph('Function duration p50 (ms)', fns.map(([name, fn]) => fn.metricDuration({ label: name, period: PERIOD, statistic: cloudwatch.Stats.p(50) }))),
      graph('Function duration p99 (ms)', fns.map(([name, fn]) => fn.metricDuration({ label: name, period: PERIOD, statistic: cloudwatch.Stats.p(99) }))),
    );
    this.dashboard.addWidgets(
      graph('Queue depth (visible messages)', perQueue(props.queues, (q, label) => q.metricApproximateNumberOfMessagesVisible({ label, period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }))),
      graph('Oldest message age (s)', perQueue(props.queues, (q, label) => q.metricApproximateAgeOfOldestMessage({ label, period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM })), {
        leftAnnotations: [{ value: OLDEST_NOTIFY_ALARM_SECONDS, label: 'notify alarm' }],
      }),
      graph('Dead-letter queues (visible messages)', perQueue(props.deadLetterQueues, (q, label) => q.metricApproximateNumberOfMessagesVisible({ label, period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }))),
    );
    this.dashboard.addWidgets(
      graph('Calls sent per tenant', [perTenantSeries(TENANT_METRICS.callsSent, 'Sum')], { width: 6 }),
      graph('Throttled by DingTalk per tenant', [perTenantSeries(TENANT_METRICS.throttled, 'Sum')], { width: 6 }),
      graph('Deferred per tenant', [perTenantSeries(TENANT_METRICS.deferred, 'Sum')], { width: 6 }),
      graph('Parked per tenant', [perTenantSeries(TENANT_METRICS.parked, 'Sum')], { width: 6 }),
    );
    this.dashboard.addWidgets(
      graph('Quota used % per tenant', [perTenantSeries(TENANT_METRICS.quotaUsedPercent, 'Maximum')], { leftYAxis: { min: 0, max: 100 } }),
      graph('Queue-to-DingTalk latency p50 per tenant (ms)', [perTenantSeries(TENANT_METRICS.deliveryLatency, 'p50')]),
      graph('Queue-to-DingTalk latency p99 per tenant (ms)', [perTenantSeries(TENANT_METRICS.deliveryLatency, 'p99')]),
    );
    this.dashboard.addWidgets(
      graph('Callbacks and 401s', [props.callbacks.requests, props.callbacks.unauthorized], { width: 12 }),
      new cloudwatch.LogQueryWidget({
        title: 'Refused callbacks (401) by path',
        logGroupNames: [props.accessLogs.logGroupName],
        queryLines: ['filter status = "401"', 'stats count(*) as refused by path', 'sort refused desc'],
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 12,
        height: 6,
      }),
    );
  }
}

/**
 * One series per tenant of a per-tenant metric: a SEARCH expression, which (unlike Metrics Insights)
 * takes percentiles. Each series is labelled with its tenantId.
 */
function perTenantSeries(metric: TenantMetricName, statistic: string): cloudwatch.SearchExpression {
  return new cloudwatch.SearchExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},service,${TENANT_DIMENSION}} MetricName="${metric}"', '${statistic}', ${PERIOD.toSeconds()})`,
    label: `\${PROP('Dim.${TENANT_DIMENSION}')}`,
    period: PERIOD,
  });
}
