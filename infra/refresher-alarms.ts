import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface RefresherAlarmsProps {
  topic: sns.ITopic;
  deadLetterQueue: sqs.IQueue;
  metricNamespace: string;
  serviceName: string;
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
        alarmDescription:
          'A scheduled refresh could not be delivered, or a refresh run failed after its retries.',
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
        alarmDescription: `The ${name} refresher function is failing (see its log group for the source and error code).`,
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
   * Fires when a source's published token has less life left than a healthy
   * schedule ever lets it reach (threshold - period: at least one refresh was
   * missed), or when no run has reported for two periods.
   */
  watchStaleness(sourceId: string, period: Duration, thresholdSeconds: number): void {
    const floor = Math.max(0, thresholdSeconds - period.toSeconds());
    const window = Duration.seconds(Math.min(86_400, Math.ceil((2 * period.toSeconds()) / 60) * 60));
    this.#notify(
      new cloudwatch.Alarm(this, `Stale-${sourceId}`, {
        alarmDescription: `The token of source ${sourceId} has under ${floor} s left or no run reported: consumers may soon find it expired.`,
        metric: new cloudwatch.Metric({
          namespace: this.#props.metricNamespace,
          metricName: 'TokenSecondsRemaining',
          dimensionsMap: { service: this.#props.serviceName, Source: sourceId },
          statistic: 'Minimum',
          period: window,
        }),
        threshold: floor,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );
  }

  #notify(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(this.#action);
    alarm.addOkAction(this.#action);
  }
}
