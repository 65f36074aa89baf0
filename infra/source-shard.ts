import { createHash } from 'node:crypto';
import { CustomResource, Duration, Names, NestedStack, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { SourceDefinition } from '../lambda/config/source-config.ts';
import { acknowledgeManagedPolicy } from './nag.ts';
import { staleSourceAlarm } from './refresher-alarms.ts';

export interface ShardSource {
  definition: SourceDefinition;
  period: Duration;
  thresholdSeconds: number;
  refreshOnDeploy: boolean;
  /** Empty placeholder secret: schedule disabled, alarm actions off (TokenRefresherSource.awaitingCredentials). */
  awaitingCredentials?: boolean;
}

export interface SourceShardProps {
  fn: lambda.IFunction;
  sources: ShardSource[];
  scheduleGroup: scheduler.IScheduleGroup;
  deadLetterQueue: sqs.IQueue;
  alarmTopic: sns.ITopic;
  perSourceAlarms: boolean;
  metricNamespace: string;
  serviceName: string;
  /** Service token of the deploy-time refresh provider, when any source is refreshed on deploy. */
  firstRefreshServiceToken?: string;
  /** Spread each source's runs over this window (EventBridge Scheduler flexible time window). */
  scheduleWindow?: Duration;
  /** Sources per deploy-time refresh invocation (default FIRST_REFRESH_BATCH). */
  firstRefreshBatch?: number;
  /** A standby deployment: every schedule off until `npm run failover` turns them on. */
  standby?: boolean;
}

/** TokenRefresherProps.sourceShards by default: room for about 4,000 sources. */
export const DEFAULT_SOURCE_SHARDS = 20;
/** Sources one nested stack may hold: a schedule and an alarm each, below CloudFormation's 500 resources. */
const MAX_SOURCES_PER_SHARD = 200;

/** Spreads sources over `count` shards by a stable hash of their id; empty shards are left out. */
export function assignShards<T extends { definition: { id: string } }>(
  sources: T[],
  count: number,
): [number, T[]][] {
  const shards = new Map<number, T[]>();
  for (const source of sources) {
    const index = createHash('sha256').update(source.definition.id).digest().readUInt32BE(0) % count;
    shards.set(index, [...(shards.get(index) ?? []), source]);
  }
  for (const [index, slice] of shards) {
    if (slice.length > MAX_SOURCES_PER_SHARD) {
      throw new Error(
        `TokenRefresher: shard ${index + 1} would hold ${slice.length} sources (at most ${MAX_SOURCES_PER_SHARD}); raise "sourceShards" (currently ${count})`,
      );
    }
  }
  return [...shards.entries()].sort(([a], [b]) => a - b);
}

export interface SourceShardsProps extends Omit<SourceShardProps, 'firstRefreshServiceToken'> {
  /** Shards to spread the sources over (TokenRefresherProps.sourceShards). */
  count: number;
}

/**
 * One provider's sources spread over nested stacks by `assignShards`, and the
 * deploy-time refresh provider its shards share when any source is refreshed on deploy.
 */
export function createSourceShards(scope: Construct, name: string, props: SourceShardsProps): void {
  const { count, sources, ...shared } = props;
  const serviceToken = sources.some((source) => source.refreshOnDeploy)
    ? createFirstRefreshProvider(scope, `${name}FirstRefresh`, props.fn)
    : undefined;
  let previous: SourceShard | undefined;
  for (const [index, slice] of assignShards(sources, count)) {
    const shard: SourceShard = new SourceShard(scope, `${name}Sources${index + 1}`, {
      ...shared,
      sources: slice,
      ...(serviceToken ? { firstRefreshServiceToken: serviceToken } : {}),
    });
    // One shard deploys (and refreshes its sources) at a time, sparing SSM's write throughput.
    if (previous) shard.addStackDependency(previous);
    previous = shard;
  }
}

/**
 * The custom-resource provider through which each shard's deploy-time refresh
 * invokes `fn`; it lives outside the shards so that one serves all of a
 * provider's shards. Returns its service token.
 */
function createFirstRefreshProvider(scope: Construct, id: string, fn: lambda.IFunction): string {
  const frameworkLogs = new logs.LogGroup(scope, `${id}ProviderLogs`, {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const providerFramework = new cr.Provider(scope, `${id}Provider`, {
    onEventHandler: fn,
    logGroup: frameworkLogs,
  });
  acknowledgeManagedPolicy(
    providerFramework,
    'service-role/AWSLambdaBasicExecutionRole',
    'The aws-cdk-lib custom-resource provider framework function logs with this policy; it only relays the deploy-time refresh.',
  );
  return providerFramework.serviceToken;
}

/** Sources refreshed by one deploy-time invocation. */
export const FIRST_REFRESH_BATCH = 25;

/** SSM writes one refresh may make: the write-ahead marker, the new private state, the token. */
export const MAX_WRITES_PER_REFRESH = 3;

/**
 * Sources per deploy-time invocation such that, with SSM writes paced at
 * `writesPerSecond`, every write of the batch has its turn before the store
 * deadline (the timeout less the safety margin, to be safe).
 */
export function firstRefreshBatchSize(writesPerSecond: number | undefined, timeoutSeconds: number): number {
  if (writesPerSecond === undefined) return FIRST_REFRESH_BATCH;
  const fits = Math.floor((writesPerSecond * (timeoutSeconds - 5)) / MAX_WRITES_PER_REFRESH);
  if (fits < 1) {
    throw new Error(
      `TokenRefresher: at ${writesPerSecond} SSM writes per second a run of ${timeoutSeconds} s cannot make the ${MAX_WRITES_PER_REFRESH} writes of even one refresh; raise "ssmWritesPerSecond" or "timeout"`,
    );
  }
  return Math.min(FIRST_REFRESH_BATCH, fits);
}

/**
 * A nested stack holding a slice of the sources: their schedules (named after
 * the source, in the deployment's schedule group), their staleness alarms when
 * wanted, and the deploy-time refresh of the slice. Sharding keeps a fleet of
 * hundreds of sources inside CloudFormation's per-stack limits and keeps each
 * deploy-time refresh well within one function run.
 */
export class SourceShard extends NestedStack {
  constructor(scope: Construct, id: string, props: SourceShardProps) {
    super(scope, id, { description: `token-refresher schedules for ${props.sources.length} sources` });
    for (const source of props.sources) {
      const { definition, period } = source;
      new scheduler.Schedule(this, `Schedule-${definition.id}`, {
        scheduleName: definition.id,
        scheduleGroup: props.scheduleGroup,
        enabled: source.awaitingCredentials !== true && props.standby !== true,
        description: `Refresh ${definition.provider} token for source ${definition.id}`,
        schedule: scheduler.ScheduleExpression.rate(period),
        timeWindow: props.scheduleWindow
          ? scheduler.TimeWindow.flexible(props.scheduleWindow)
          : scheduler.TimeWindow.off(),
        target: new targets.LambdaInvoke(props.fn, {
          input: scheduler.ScheduleTargetInput.fromObject({ sources: [definition] }),
          retryAttempts: 2,
          // A delivery retried after the next run is due is worthless.
          maxEventAge: Duration.seconds(Math.max(60, period.toSeconds())),
          deadLetterQueue: props.deadLetterQueue,
        }),
      });
      if (props.perSourceAlarms) {
        staleSourceAlarm(this, {
          topic: props.alarmTopic,
          metricNamespace: props.metricNamespace,
          serviceName: props.serviceName,
          sourceId: definition.id,
          // With a flexible window, runs may be a period plus the window apart.
          period: props.scheduleWindow ? period.plus(props.scheduleWindow) : period,
          thresholdSeconds: source.thresholdSeconds,
          actionsEnabled: source.awaitingCredentials !== true && props.standby !== true,
          placeholder: source.awaitingCredentials === true,
        });
      }
    }
    // The scheduler's invoke role in this nested stack sees the function ARN as a nested-stack parameter,
    // which CDK names after the function's unique id.
    const functionResource = props.fn.node.defaultChild;
    if (functionResource) {
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<referenceto${Names.uniqueId(functionResource)}Arn>:*]`,
        reason:
          'lambda:InvokeFunction on the refresher function and its versions (ARN:*), exactly as aws-cdk-lib grants invoke.',
      });
    }

    // The deploy-time refresh goes in batches, one after another: each batch is one function run well
    // within its timeout, and only a few sources write to SSM at any moment.
    const onDeploy = props.sources
      .filter((source) => source.refreshOnDeploy)
      .map((source) => source.definition);
    const serviceToken = props.firstRefreshServiceToken;
    const size = props.firstRefreshBatch ?? FIRST_REFRESH_BATCH;
    let previous: CustomResource | undefined;
    for (let start = 0; serviceToken && start < onDeploy.length; start += size) {
      const batch = new CustomResource(this, `FirstRefresh${start / size + 1}`, {
        serviceToken,
        resourceType: 'Custom::TokenRefresherFirstRefresh',
        properties: {
          Sources: Stack.of(this).toJsonString(onDeploy.slice(start, start + size)),
        },
      });
      if (previous) batch.node.addDependency(previous);
      previous = batch;
    }
  }
}
