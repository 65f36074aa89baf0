import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PLACEHOLDER_NOTE } from './placeholder-note.ts';

/** The section of docs/runbook.md behind each alarm; every alarm description ends with its link. */
export const RUNBOOK_SECTIONS = {
  deadLetters: 'alarm-dead-letters',
  functionErrors: 'alarm-function-errors',
  providerStale: 'alarm-provider-token-stale',
  sourceStale: 'alarm-source-token-stale',
  replicaStale: 'alarm-replica-token-stale',
} as const;

interface WatchedSource {
  period: Duration;
  thresholdSeconds: number;
  awaitingCredentials?: boolean;
}

/**
 * The floor (threshold − period) and longest period of a provider's sources. Sources whose secret is
 * still a placeholder never run: they set neither, unless every source is one.
 */
function stalenessFloor(allSources: WatchedSource[]): {
  live: WatchedSource[];
  floor: number;
  longest: number;
} {
  const live = allSources.filter((source) => source.awaitingCredentials !== true);
  const sources = live.length > 0 ? live : allSources;
  const floor = Math.min(
    ...sources.map((source) => Math.max(0, source.thresholdSeconds - source.period.toSeconds())),
  );
  const longest = Math.max(...sources.map((source) => source.period.toSeconds()));
  return { live, floor, longest };
}

function placeholder(only: boolean): string {
  return only ? ` ${PLACEHOLDER_NOTE}` : '';
}

function runbook(section: keyof typeof RUNBOOK_SECTIONS): string {
  return ` Runbook: docs/runbook.md#${RUNBOOK_SECTIONS[section]}`;
}

export interface RefresherAlarmsProps {
  topic: sns.ITopic;
  deadLetterQueue: sqs.IQueue;
  metricNamespace: string;
  serviceName: string;
  /**
   * A standby's functions do not run until a failover: its staleness alarms are created with their
   * actions off, and `npm run failover` turns them on (and home's off). Default false.
   */
  standby?: boolean;
}

/** Every alarm the refresher raises, all sent to one SNS topic. */
export class RefresherAlarms extends Construct {
  readonly #props: RefresherAlarmsProps;
  readonly #action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: RefresherAlarmsProps) {
    super(scope, id);
    this.#props = props;
    this.#action = new actions.SnsAction(props.topic);
    this.#notify(
      new cloudwatch.Alarm(this, 'DeadLetters', {
        alarmDescription: `A scheduled refresh could not be delivered, or a refresh run failed after its retries.${runbook('deadLetters')}`,
        metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /** Function errors in two of three 5-minute windows: one blip is left to the staleness alarm. */
  watchFunction(name: string, fn: lambda.IFunction): void {
    this.#notify(
      new cloudwatch.Alarm(this, `${name}Errors`, {
        alarmDescription: `The ${name} refresher function is failing (see its log group for the source and error code).${runbook('functionErrors')}`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /**
   * One alarm for all of a provider's sources, on the per-provider series: fires
   * when any source's token has less life left than a healthy schedule lets it
   * reach (threshold − period: a refresh was missed), or when no run reported for
   * two of the longest periods.
   */
  watchProviderStaleness(provider: string, allSources: WatchedSource[]): void {
    const { live, floor, longest } = stalenessFloor(allSources);
    this.#notify(
      new cloudwatch.Alarm(this, `${provider}Stale`, {
        alarmDescription: `A ${provider} token has under ${floor} s left, or no ${provider} run reported: consumers may soon find it expired.${placeholder(live.length === 0)}${runbook('providerStale')}`,
        metric: stalenessMetric(this.#props, { Provider: provider }, longest),
        threshold: floor,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        actionsEnabled: live.length > 0 && !this.#props.standby,
      }),
    );
  }

  /**
   * One alarm per replica region and provider, on the copies the home runs
   * report: fires when a replica's token has less life left than the provider's
   * floor (the same as at home), or when no run reported on that region.
   */
  watchReplicaStaleness(region: string, provider: string, allSources: WatchedSource[]): void {
    const { live, floor, longest } = stalenessFloor(allSources);
    this.#notify(
      new cloudwatch.Alarm(this, `${provider}ReplicaStale-${region}`, {
        alarmDescription: `The ${provider} tokens copied to ${region} have under ${floor} s left, or no run reported on that region: consumers there may soon find them expired.${placeholder(live.length === 0)}${runbook('replicaStale')}`,
        metric: stalenessMetric(
          { ...this.#props, metricName: 'ReplicaTokenSecondsRemaining' },
          { ReplicaRegion: region, Provider: provider },
          longest,
        ),
        threshold: floor,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        actionsEnabled: live.length > 0 && !this.#props.standby,
      }),
    );
  }

  #notify(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(this.#action);
    alarm.addOkAction(this.#action);
  }
}

interface StalenessMetricProps {
  metricNamespace: string;
  serviceName: string;
  /** Default TokenSecondsRemaining. */
  metricName?: string;
}

function stalenessMetric(
  props: StalenessMetricProps,
  dimensions: Record<string, string>,
  periodSeconds: number,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: props.metricNamespace,
    metricName: props.metricName ?? 'TokenSecondsRemaining',
    dimensionsMap: { service: props.serviceName, ...dimensions },
    statistic: 'Minimum',
    // Two periods, so every window holds at least one run; CloudWatch wants whole minutes, a day at most.
    period: Duration.seconds(Math.min(86_400, Math.ceil((2 * periodSeconds) / 60) * 60)),
  });
}

/** One source's staleness alarm (optional: each costs an alarm and a custom metric). */
export function staleSourceAlarm(
  scope: Construct,
  props: StalenessMetricProps & {
    topic: sns.ITopic;
    sourceId: string;
    period: Duration;
    thresholdSeconds: number;
    /** False while the source's secret is a placeholder, and on a standby until a failover. */
    actionsEnabled?: boolean;
    /** The source's secret is an unfilled placeholder (said in the description, for npm run failover). */
    placeholder?: boolean;
  },
): cloudwatch.Alarm {
  const floor = Math.max(0, props.thresholdSeconds - props.period.toSeconds());
  const alarm = new cloudwatch.Alarm(scope, `Stale-${props.sourceId}`, {
    alarmDescription: `The token of source ${props.sourceId} has under ${floor} s left or no run reported: consumers may soon find it expired.${placeholder(props.placeholder === true)}${runbook('sourceStale')}`,
    metric: stalenessMetric(
      { metricNamespace: props.metricNamespace, serviceName: props.serviceName },
      { Source: props.sourceId },
      props.period.toSeconds(),
    ),
    threshold: floor,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    actionsEnabled: props.actionsEnabled ?? true,
  });
  const action = new actions.SnsAction(props.topic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
  return alarm;
}
