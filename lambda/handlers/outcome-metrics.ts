import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SourceOutcome } from '../refresh/refresh-source.ts';

/**
 * One EMF record per metric: a Powertools single metric flushes, and drops its
 * dimensions, on each addMetric. Every run feeds the per-provider series (one
 * alarm per provider, however many sources); per-source series cost a custom
 * metric each and can be switched off for large fleets.
 */
export function recordMetrics(metrics: Metrics, outcome: SourceOutcome, perSource: boolean): void {
  const emit = (
    name: string,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
    value: number,
    bySource: boolean,
  ) => {
    const single = metrics.singleMetric();
    single.addDimension(bySource ? 'Source' : 'Provider', bySource ? outcome.sourceId : outcome.provider);
    single.addMetric(name, unit, value);
  };
  const failed = outcome.status === 'failed' ? 1 : 0;
  // Staleness is emitted on every run, failed or not: it is what the alarms on an expiring token watch.
  if (outcome.secondsRemaining !== undefined) {
    const seconds = Math.max(0, outcome.secondsRemaining);
    emit('TokenSecondsRemaining', MetricUnit.Seconds, seconds, false);
    if (perSource) emit('TokenSecondsRemaining', MetricUnit.Seconds, seconds, true);
  }
  emit('RefreshFailed', MetricUnit.Count, failed, false);
  if (perSource) emit('RefreshFailed', MetricUnit.Count, failed, true);
  // The dashboard's outcome widget: refreshed and fresh runs per provider (failed ones are RefreshFailed).
  if (outcome.status !== 'failed')
    emit(outcome.status === 'refreshed' ? 'Refreshed' : 'Fresh', MetricUnit.Count, 1, false);
  // One per refresh that published with a warning, and only then: a metric costs nothing in the hours
  // it is not emitted. A refresh that warned and then failed has the WARN line only.
  if (outcome.status === 'refreshed' && outcome.warnings)
    emit('ProviderWarnings', MetricUnit.Count, 1, false);
  for (const replica of outcome.replicas ?? []) {
    // Per replica region and provider: one staleness alarm each, with the provider's floor.
    // Unknown after a failed write: no datapoint, rather than a 0 that would page for a copy still valid.
    if (replica.secondsRemaining !== undefined) {
      const single = metrics.singleMetric();
      single.addDimension('ReplicaRegion', replica.region);
      single.addDimension('Provider', outcome.provider);
      single.addMetric('ReplicaTokenSecondsRemaining', MetricUnit.Seconds, replica.secondsRemaining);
    }
    const behind = metrics.singleMetric();
    behind.addDimension('ReplicaRegion', replica.region);
    behind.addMetric('ReplicaBehind', MetricUnit.Count, replica.status === 'behind' ? 1 : 0);
  }
}
