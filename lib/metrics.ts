import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from './contracts/deployment';


/**
 * The one Powertools metrics instance (CloudWatch EMF, flushed by the `logMetrics` middleware):
 * `CallsSent`, `Throttled` (DingTalk QPS rejections), `Deferred` (calls waiting for a slot),
 * `QuotaUsedPercent` (per reserved call: alarms at 80 % and 95 %).
 */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

/**
 * middy middleware: flushes the stored metrics after the handler (also when it failed), and only
 * when there are some: an invocation that only deferred messages has nothing worth a log line.
 *
 * @example
 * middy(handler).use(publishMetrics(metrics))
 */
export const publishMetrics = (m: Metrics = metrics) => {
  const flush = async () => {
    if (m.hasStoredMetrics()) m.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
};
