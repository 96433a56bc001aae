import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lib/contracts/deployment';

export interface AlarmsProps {
  /** Dead-letter queues by name: any message in one is a failure that retries could not fix. */
  readonly deadLetterQueues: Record<string, IQueue>;
  readonly api: IHttpApi;
  /** Functions by handler name: each gets an errors and a throttles alarm. */
  readonly functions: Record<string, IFunction>;
  /** When set, an SNS topic with this e-mail subscription receives every alarm and its recovery. */
  readonly email?: string;
}

/**
 * The operational alarms: messages in a dead-letter queue, HTTP API 5xx, function errors and
 * throttled invocations. Every alarm treats missing data as "not breaching" (quiet periods are fine).
 */
export class Alarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly topic?: sns.Topic;

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

    // The monthly quota guard: the sender emits QuotaUsedPercent for every call it reserves.
    const quotaUsed = new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: 'QuotaUsedPercent',
      dimensionsMap: { service: SERVICE_NAME },
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    for (const pct of [80, 95]) {
      this.add(`QuotaUsed${pct}`, `An organisation has used ${pct} % of its monthly DingTalk call quota (npm run tenant -- usage <tenantId> shows which, and the forecast).`, quotaUsed, pct);
    }

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
  private add(id: string, description: string, metric: cloudwatch.IMetric, threshold = 1): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
