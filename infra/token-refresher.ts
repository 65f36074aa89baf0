import { Annotations, Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { tokenParameterName } from '../lambda/config/parameter-names.ts';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import { RefresherDashboard } from './dashboard.ts';
import { DEFAULT_TIMEOUT_SECONDS } from './default-schedules.ts';
import { applyLandingZone } from './landing-zone.ts';
import { RefresherAlarms } from './refresher-alarms.ts';
import { createRefresherFunction, SERVICE_NAME } from './refresher-function.ts';
import { providerSecretPrefixes } from './refresher-permissions.ts';
import { checkReplicaRegions, PARAMETER_KEY_TAG, tagParameterKey } from './region-permissions.ts';
import { createAlarmTopic, createDeadLetterQueue, createLockTable } from './shared-resources.ts';
import { createSourceShards, DEFAULT_SOURCE_SHARDS, firstRefreshBatchSize } from './source-shard.ts';
import { type ValidatedSource, validateSource } from './source-validation.ts';
import {
  grantTokenParameterRead,
  keyArnParameterName,
  parameterArn,
  stackOfGrantee,
  validatePrefix,
} from './token-parameters.ts';
import type { TokenRefresherProps } from './token-refresher-props.ts';
import { TokenRefresherReference } from './token-refresher-reference.ts';
import type { TokenRefresherSource } from './token-refresher-source.ts';

export type { TokenRefresherProps, TokenRefresherSource };

/**
 * Keeps a valid bearer token for every source in an SSM SecureString: one
 * function per provider, one EventBridge Scheduler schedule per source carrying
 * that source's definition, a DynamoDB lease so runs of one source never
 * overlap, a customer managed KMS key, alarms, and a deploy-time first refresh.
 */
export class TokenRefresher extends Construct {
  readonly encryptionKey: kms.IKey;
  /** `<prefix>/meta/key-arn`: the key's ARN, for consumers in other stacks and apps. */
  readonly keyArnParameter: ssm.StringParameter;
  readonly alarmTopic: sns.ITopic;
  readonly deadLetterQueue: sqs.Queue;
  readonly lockTable: dynamodb.Table;
  readonly functions: Partial<Record<ProviderName, lambda.Function>> = {};
  readonly parameterPrefix: string;
  /** Holds one schedule per source, named after the source. */
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly #sources = new Map<string, ValidatedSource>();

  /**
   * A refresher deployed elsewhere (another CDK app or stack in the same account
   * and region), by its parameter prefix: name its parameters and grant read
   * access to one source, without CloudFormation exports.
   */
  static fromParameterPrefix(scope: Construct, id: string, parameterPrefix: string): TokenRefresherReference {
    return new TokenRefresherReference(scope, id, parameterPrefix);
  }

  constructor(scope: Construct, id: string, props: TokenRefresherProps) {
    super(scope, id);
    if (props.landingZone) applyLandingZone(this, props.landingZone);
    const scheduleWindowSeconds = props.scheduleWindow?.toSeconds() ?? 0;
    this.parameterPrefix = validatePrefix(props.parameterPrefix ?? '/token-refresher');
    const timeout = props.timeout ?? Duration.seconds(DEFAULT_TIMEOUT_SECONDS);
    if (props.sources.length === 0) throw new Error('TokenRefresher: add at least one source to "sources"');
    const metricNamespace = props.metricNamespace ?? 'TokenRefresher';
    const replicaRegions = checkReplicaRegions(this, props.replicaRegions ?? [], props.standby === true);
    const standby = props.standby === true;

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'ParameterKey', {
        description: 'Encrypts token-refresher SecureString parameters',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    // The other regions' functions find this key by its tag (they learn its ARN at run time).
    if (!props.encryptionKey || props.encryptionKey instanceof kms.Key) {
      tagParameterKey(this.encryptionKey, this.parameterPrefix);
    } else if (replicaRegions.length > 0) {
      Annotations.of(this).addWarningV2(
        'token-refresher:untaggedKey',
        `encryptionKey is imported: tag it ${PARAMETER_KEY_TAG}=${this.parameterPrefix}, or the other regions' functions cannot copy tokens here`,
      );
    }
    // Other stacks and CDK apps find the key here (fromParameterPrefix, cross-stack grantRead): no export.
    this.keyArnParameter = new ssm.StringParameter(this, 'KeyArnParameter', {
      parameterName: keyArnParameterName(this.parameterPrefix),
      stringValue: this.encryptionKey.keyArn,
      description: "ARN of the KMS key that encrypts this token-refresher deployment's token parameters",
    });
    this.alarmTopic = props.alarmTopic ?? createAlarmTopic(this);
    this.deadLetterQueue = createDeadLetterQueue(this);
    this.lockTable = createLockTable(this);

    const byProvider = new Map<ProviderName, ValidatedSource[]>();
    for (const source of props.sources) {
      const validated = validateSource(this, source, {
        parameterPrefix: this.parameterPrefix,
        keyArn: this.encryptionKey.keyArn,
        timeout,
        scheduleWindowSeconds,
        resilience: props.resilience,
        acceptedIds: this.#sources,
      });
      // A standby refreshes nothing at deploy time: it is not the active region.
      if (standby) validated.refreshOnDeploy = false;
      this.#sources.set(source.id, validated);
      byProvider.set(source.provider, [...(byProvider.get(source.provider) ?? []), validated]);
    }

    const alarms = new RefresherAlarms(this, 'Alarms', {
      topic: this.alarmTopic,
      deadLetterQueue: this.deadLetterQueue,
      metricNamespace,
      serviceName: SERVICE_NAME,
      standby,
    });

    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'Schedules', {
      scheduleGroupName: Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }),
    });
    const perSourceAlarms = props.perSourceAlarms ?? props.sources.length <= 50;
    const firstRefreshBatch = firstRefreshBatchSize(props.ssmWritesPerSecond, timeout.toSeconds());
    const secretPrefixes = props.secretNamePrefix
      ? providerSecretPrefixes(props.secretNamePrefix, [...byProvider.keys()])
      : undefined;
    const functionSettings = {
      parameterPrefix: this.parameterPrefix,
      encryptionKey: this.encryptionKey,
      lockTable: this.lockTable,
      deadLetterQueue: this.deadLetterQueue,
      deploymentName: props.deploymentName ?? Stack.of(this).stackName,
      memorySize: props.memorySize ?? 256,
      timeout,
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      metricNamespace,
      metricsPerSource: perSourceAlarms,
      ssmWritesPerSecond: props.ssmWritesPerSecond,
      replicaRegions,
      standby,
    };
    const shardSettings = {
      count: props.sourceShards ?? DEFAULT_SOURCE_SHARDS,
      scheduleGroup: this.scheduleGroup,
      deadLetterQueue: this.deadLetterQueue,
      alarmTopic: this.alarmTopic,
      perSourceAlarms,
      metricNamespace,
      serviceName: SERVICE_NAME,
      ...(props.scheduleWindow ? { scheduleWindow: props.scheduleWindow } : {}),
      firstRefreshBatch,
      standby,
    };
    const window = props.scheduleWindow;
    for (const [provider, sources] of byProvider) {
      // Construct ids (and so logical ids) are named after the provider: changing one replaces the resource.
      const name = capitalize(provider);
      const fn = createRefresherFunction(this, `${name}Refresher`, {
        ...functionSettings,
        provider,
        sources,
        secretNamePrefix: secretPrefixes?.get(provider),
      });
      this.functions[provider] = fn;
      alarms.watchFunction(provider, fn);
      const watched = sources.map((source) => ({
        ...source,
        period: window ? source.period.plus(window) : source.period,
      }));
      alarms.watchProviderStaleness(provider, watched);
      for (const region of replicaRegions) alarms.watchReplicaStaleness(region, provider, watched);
      createSourceShards(this, name, { ...shardSettings, fn, sources });
    }
    new RefresherDashboard(this, 'Dashboard', {
      metricNamespace,
      serviceName: SERVICE_NAME,
      perSourceMetrics: perSourceAlarms,
      replicaRegions,
      sources: [...this.#sources.values()].map((source) => ({
        id: source.definition.id,
        provider: source.definition.provider,
        thresholdSeconds: source.thresholdSeconds,
        periodSeconds: source.period.toSeconds() + scheduleWindowSeconds,
      })),
    });
  }

  /** The parameter consumers read for `sourceId`. */
  parameterName(sourceId: string): string {
    return tokenParameterName(this.parameterPrefix, this.#source(sourceId).definition.provider, sourceId);
  }

  parameterArn(sourceId: string): string {
    return parameterArn(this, this.parameterName(sourceId));
  }

  /**
   * Lets `grantee` read one source's token: GetParameter on that parameter and
   * Decrypt for it alone. A grantee in another stack gets the key ARN from
   * `<prefix>/meta/key-arn` at deploy time, so no export ties the two stacks.
   */
  grantRead(grantee: iam.IGrantable, sourceId: string): iam.Grant {
    const arn = this.parameterArn(sourceId);
    const here = Stack.of(this);
    const granteeStack = stackOfGrantee(grantee) ?? here;
    let keyArn = this.encryptionKey.keyArn;
    // Within one template (or its nested stacks) a reference is a plain Ref; across top-level stacks
    // CDK would make it an export, which blocks replacing the key while any consumer stack exists.
    if (rootStack(granteeStack) !== rootStack(here)) {
      keyArn = ssm.StringParameter.valueForStringParameter(
        granteeStack,
        keyArnParameterName(this.parameterPrefix),
      );
      // The parameter must exist before the grantee's stack reads it.
      rootStack(granteeStack).addStackDependency(
        rootStack(here),
        'reads the key ARN the refresher publishes',
      );
    }
    return grantTokenParameterRead(grantee, { parameterArn: arn, keyArn, region: here.region });
  }

  #source(sourceId: string) {
    const source = this.#sources.get(sourceId);
    if (!source) {
      throw new Error(
        `TokenRefresher: no source "${sourceId}" (sources: ${[...this.#sources.keys()].join(', ')})`,
      );
    }
    return source;
  }
}

function rootStack(stack: Stack): Stack {
  return stack.nestedStackParent ? rootStack(stack.nestedStackParent) : stack;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
