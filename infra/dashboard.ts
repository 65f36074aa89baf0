import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

export interface DashboardSource {
  id: string;
  provider: string;
  thresholdSeconds: number;
  periodSeconds: number;
}

export interface RefresherDashboardProps {
  metricNamespace: string;
  serviceName: string;
  sources: DashboardSource[];
  /** Whether the functions emit per-source series (REFRESHER_METRICS_PER_SOURCE). */
  perSourceMetrics: boolean;
  /** Regions the tokens are copied to: a row each. Default none. */
  replicaRegions?: readonly string[];
}

/** Per-source lines drawn at most (the default per-source metric limit), ten to a graph. */
export const MAX_SOURCE_LINES = 50;
const LINES_PER_GRAPH = 10;
const WIDTH = 6;
const HEIGHT = 6;

/**
 * One CloudWatch dashboard per deployment: per provider, the lowest token life
 * left against the refresh threshold and the alarm floor, refresh outcomes,
 * provider latency (p50, p99), calls, retries, rate-limit answers and lock waits;
 * then each source's token life left, up to the per-source metric limit.
 */
export class RefresherDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly #props: RefresherDashboardProps;
  /** Metric ids inside math expressions must be unique on the dashboard's graphs. */
  #nextId = 0;

  constructor(scope: Construct, id: string, props: RefresherDashboardProps) {
    super(scope, id);
    this.#props = props;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-token-refresher`,
      defaultInterval: Duration.hours(6),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '**Token refresher.** Life left is in minutes; the dashed lines are the refresh threshold (a run refreshes below it) ' +
          'and the alarm floor (threshold minus period: below it a refresh was missed). What to do when an alarm fires: docs/runbook.md.',
        width: 4 * WIDTH,
        height: 2,
      }),
    );
    const providers = [...new Set(props.sources.map((source) => source.provider))];
    for (const provider of providers) {
      this.dashboard.addWidgets(...this.#providerRow(provider));
    }
    for (const region of props.replicaRegions ?? []) this.dashboard.addWidgets(...this.#replicaRow(region));
    this.dashboard.addWidgets(...this.#sourceWidgets());
  }

  /** A replica region: the lowest life left on its copies per provider, and sources it lags behind on. */
  #replicaRow(region: string): cloudwatch.IWidget[] {
    const providers = [...new Set(this.#props.sources.map((source) => source.provider))];
    return [
      new cloudwatch.GraphWidget({
        title: `${region}: lowest life left on the copied tokens (min)`,
        left: providers.map((provider) =>
          this.#minutesLeft(
            { ReplicaRegion: region, Provider: provider },
            provider,
            'ReplicaTokenSecondsRemaining',
          ),
        ),
        leftYAxis: { min: 0, showUnits: false },
        width: 2 * WIDTH,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: `${region}: sources whose copy is behind (docs/runbook.md#alarm-replica-token-stale)`,
        left: [this.#metric('ReplicaBehind', { ReplicaRegion: region }, 'Sum', 'behind')],
        width: 2 * WIDTH,
        height: HEIGHT,
      }),
    ];
  }

  #metric(name: string, dimensions: Record<string, string>, statistic: string, label: string) {
    return new cloudwatch.Metric({
      namespace: this.#props.metricNamespace,
      metricName: name,
      dimensionsMap: { service: this.#props.serviceName, ...dimensions },
      statistic,
      label,
      period: Duration.minutes(5),
    });
  }

  /** Seconds shown as minutes: the stage configuration's unit. */
  #minutesLeft(
    dimensions: Record<string, string>,
    label: string,
    metricName = 'TokenSecondsRemaining',
  ): cloudwatch.IMetric {
    const id = `seconds${this.#nextId++}`;
    return new cloudwatch.MathExpression({
      expression: `${id} / 60`,
      usingMetrics: { [id]: this.#metric(metricName, dimensions, 'Minimum', label) },
      label,
      period: Duration.minutes(5),
    });
  }

  #providerRow(provider: string): cloudwatch.IWidget[] {
    const sources = this.#props.sources.filter((source) => source.provider === provider);
    const threshold = Math.min(...sources.map((source) => source.thresholdSeconds));
    const floor = Math.min(
      ...sources.map((source) => Math.max(0, source.thresholdSeconds - source.periodSeconds)),
    );
    const byProvider = { Provider: provider };
    return [
      new cloudwatch.GraphWidget({
        title: `${provider}: lowest token life left (min)`,
        left: [this.#minutesLeft(byProvider, 'lowest life left')],
        leftAnnotations: [
          { value: threshold / 60, label: 'refresh threshold', color: cloudwatch.Color.BLUE },
          { value: floor / 60, label: 'alarm floor', color: cloudwatch.Color.RED },
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: WIDTH,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: `${provider}: refresh outcomes`,
        left: [
          this.#metric('Refreshed', byProvider, 'Sum', 'refreshed'),
          this.#metric('Fresh', byProvider, 'Sum', 'fresh (nothing to do)'),
          this.#metric('RefreshFailed', byProvider, 'Sum', 'failed'),
        ],
        stacked: true,
        width: WIDTH,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: `${provider}: provider call latency (ms)`,
        left: [
          this.#metric('ProviderLatency', byProvider, 'p50', 'p50'),
          this.#metric('ProviderLatency', byProvider, 'p99', 'p99'),
        ],
        width: WIDTH,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: `${provider}: calls, retries, rate limits, lock waits, warnings`,
        left: [
          this.#metric('ProviderCalls', byProvider, 'Sum', 'calls'),
          this.#metric('ProviderRetries', byProvider, 'Sum', 'retries'),
          this.#metric('ProviderRateLimited', byProvider, 'Sum', 'rate-limit answers (429)'),
          this.#metric('LockWaits', byProvider, 'Sum', 'lock waits'),
          this.#metric('ProviderWarnings', byProvider, 'Sum', 'warnings (docs/runbook.md#warnings)'),
        ],
        width: WIDTH,
        height: HEIGHT,
      }),
    ];
  }

  #sourceWidgets(): cloudwatch.IWidget[] {
    const { sources, perSourceMetrics } = this.#props;
    if (!perSourceMetrics) {
      return [
        new cloudwatch.TextWidget({
          markdown: `Per-source series are off for this deployment (${sources.length} sources): see the per-provider graphs.`,
          width: 4 * WIDTH,
          height: 1,
        }),
      ];
    }
    const shown = sources.slice(0, MAX_SOURCE_LINES);
    const widgets: cloudwatch.IWidget[] = [];
    for (let start = 0; start < shown.length; start += LINES_PER_GRAPH) {
      const slice = shown.slice(start, start + LINES_PER_GRAPH);
      widgets.push(
        new cloudwatch.GraphWidget({
          title: `Token life left per source (min), ${start + 1}-${start + slice.length} of ${sources.length}`,
          left: slice.map((source) => this.#minutesLeft({ Source: source.id }, source.id)),
          leftYAxis: { min: 0, showUnits: false },
          width: 2 * WIDTH,
          height: HEIGHT,
        }),
      );
    }
    return widgets;
  }
}
