import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import * as v from 'valibot';
import {
  privateStateParameterName,
  resolveSource,
  type SourceDefinition,
  sourceProfile,
  tokenParameterName,
} from '../lambda/config/source-config.ts';
import { type ProviderName, providerFactories } from '../lambda/providers/index.ts';
import type { AnyTokenProvider } from '../lambda/providers/provider.ts';
import { HANDLER_ENTRIES, lambdaBundling } from './bundling.ts';
import { RefresherDashboard } from './dashboard.ts';
import { applyLandingZone, type LandingZoneOptions } from './landing-zone.ts';
import { acknowledgeManagedPolicy, acknowledgeWildcardResources } from './nag.ts';
import { RefresherAlarms } from './refresher-alarms.ts';
import {
  grantRefresherPermissions,
  grantSourceSecrets,
  providerSecretPrefixes,
  secretReference,
} from './refresher-permissions.ts';
import { CONSUMER_MARGIN_SECONDS, scheduleProblem } from './schedule-policy.ts';
import { firstRefreshBatchSize, SourceShard } from './source-shard.ts';
import {
  grantTokenParameterRead,
  keyArnParameterName,
  parameterArn,
  stackOfGrantee,
  validatePrefix,
} from './token-parameters.ts';
import { TokenRefresherReference } from './token-refresher-reference.ts';

export interface SourceSchedule {
  /** Time between runs; whole minutes. */
  period: Duration;
  /** Refresh when the published token has this much life left or less. */
  refreshThreshold: Duration;
}

/** The refresher functions' default timeout. */
const DEFAULT_TIMEOUT_SECONDS = 30;

/** A schedule for a token life known only from configuration (oauth2's `expectedLifetimeSeconds`). */
export type ScheduleForLifetime = (lifetimeSeconds: number) => SourceSchedule;

/** Production schedules derived from each provider's token life (see schedule-policy.ts for the rule). */
export const DEFAULT_SCHEDULES: Record<ProviderName, SourceSchedule | ScheduleForLifetime> = {
  // 15-minute tokens: refresh under 10 min left, checked every 4 min (one failed run still leaves > 1.5 min).
  paypack: { period: Duration.minutes(4), refreshThreshold: Duration.minutes(10) },
  // 24 h tokens: refresh under 12 h left, checked hourly (half a day of outage is survivable).
  papaya: { period: Duration.hours(1), refreshThreshold: Duration.hours(12) },
  oauth2: scheduleForLifetime,
};

/**
 * A period of about a quarter of the life (1 to 60 min) and a threshold of half
 * the life, raised to what schedule-policy.ts needs to bridge one failed run of
 * the default 30 s timeout: 5-minute tokens get every 1 min / under 210 s,
 * 1-hour tokens every 15 min / under 1890 s, 24-hour tokens every 60 min / under 12 h.
 */
export function scheduleForLifetime(lifetimeSeconds: number): SourceSchedule {
  const periodMinutes = Math.min(60, Math.max(1, Math.floor(lifetimeSeconds / 4 / 60)));
  const needed = 2 * periodMinutes * 60 + DEFAULT_TIMEOUT_SECONDS + CONSUMER_MARGIN_SECONDS;
  return {
    period: Duration.minutes(periodMinutes),
    refreshThreshold: Duration.seconds(Math.max(needed, Math.floor(lifetimeSeconds / 2))),
  };
}

/** A source's default schedule, from its provider and (valid) options. */
export function defaultSchedule(providerName: ProviderName, options: unknown): SourceSchedule {
  const entry = DEFAULT_SCHEDULES[providerName];
  if (typeof entry !== 'function') return entry;
  const provider: AnyTokenProvider = providerFactories[providerName]();
  const parsed = v.safeParse(provider.optionsSchema, options);
  if (!parsed.success) throw new Error(`${providerName} options are invalid: no schedule can be derived`);
  return entry(provider.tokenLifetimeSeconds(parsed.output));
}

export const DEFAULT_BASE_URLS: Partial<Record<ProviderName, string>> = {
  paypack: 'https://payments.paypack.rw/api',
};

export interface TokenRefresherSource {
  /** 1-64 letters, digits, "_", "." or "-". */
  id: string;
  provider: ProviderName;
  /** Default: the provider's public API (Paypack only; Papaya's host comes from its integration support). */
  baseUrl?: string;
  /** Holds the credentials JSON for this source. */
  secret: secretsmanager.ISecret;
  /** The customer managed key the secret is encrypted with, if not the default aws/secretsmanager key. */
  secretEncryptionKey?: kms.IKey;
  /** Default: the provider's schedule in DEFAULT_SCHEDULES. */
  schedule?: SourceSchedule;
  /** Provider options (Papaya: expirationSeconds, tokenName). */
  options?: Record<string, unknown>;
  /** Refresh at deploy time so the parameter exists when `cdk deploy` returns. Default true; false for empty placeholder secrets. */
  refreshOnDeploy?: boolean;
  /**
   * The secret is still an empty placeholder: the schedule is created disabled and the source's alarms
   * notify no one, so an unfilled secret pages nobody. Default false.
   */
  awaitingCredentials?: boolean;
}

export interface TokenRefresherProps {
  sources: TokenRefresherSource[];
  /**
   * Parameter paths: `<prefix>/tokens/<provider>/<id>` (consumers) and
   * `<prefix>/private/<provider>/<id>/refresh-token`. Default `/token-refresher`.
   */
  parameterPrefix?: string;
  /** Names this deployment to providers (Papaya token_name). Default: the stack name. */
  deploymentName?: string;
  /** Where alarms go. Default: a new encrypted topic. */
  alarmTopic?: sns.ITopic;
  /** Encrypts the SecureString parameters. Default: a new customer managed key with yearly rotation. */
  encryptionKey?: kms.IKey;
  /** Default 256 MB. */
  memorySize?: number;
  /** Default 30 s. Bounds a run; the schedule rule accounts for it. */
  timeout?: Duration;
  /** Default three months. */
  logRetention?: logs.RetentionDays;
  /** CloudWatch namespace of the handler's metrics. Default `TokenRefresher`. */
  metricNamespace?: string;
  /**
   * An alarm and a custom metric per source (about $0.40 a month each), besides
   * the one staleness alarm per provider. Default: on for up to 50 sources.
   */
  perSourceAlarms?: boolean;
  /**
   * For fleets: grant each provider's function every secret under that
   * provider's name prefix instead of each secret by ARN. A string gives each
   * provider `<prefix><provider>/` (source `<id>` then uses secret
   * `<prefix><provider>/<id>`); a map names each provider's prefix.
   */
  secretNamePrefix?: string | Partial<Record<ProviderName, string>>;
  /**
   * Spread each source's runs over this window (EventBridge Scheduler flexible
   * time window), to smooth a fleet's SSM writes. Runs may then be a period plus
   * the window apart, which the schedule rule accounts for. Default: off.
   */
  scheduleWindow?: Duration;
  /**
   * Nested stacks the schedules are spread over, by a hash of the source id, so
   * adding or removing a source never moves another one. Changing it moves
   * schedules between stacks: do so in a deploy that removes and one that adds.
   * Default 20 (about 4,000 sources at most).
   */
  sourceShards?: number;
  /** Permissions boundary, role path and tags for everything the construct creates (landing zones). */
  landingZone?: LandingZoneOptions;
  /**
   * Paces SSM writes from each function container (REFRESHER_SSM_WRITES_PER_SECOND);
   * deploy-time refresh batches shrink so pacing cannot starve them. Default: unpaced.
   */
  ssmWritesPerSecond?: number;
}

const DEFAULT_SOURCE_SHARDS = 20;
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

const SERVICE_NAME = 'token-refresher';

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
  readonly functions: Partial<Record<ProviderName, nodejs.NodejsFunction>> = {};
  readonly parameterPrefix: string;
  /** Holds one schedule per source, named after the source. */
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly #sources = new Map<string, TokenRefresherSource & { threshold: number; period: Duration }>();

  readonly #scheduleWindowSeconds: number;

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
    this.#scheduleWindowSeconds = props.scheduleWindow?.toSeconds() ?? 0;
    this.parameterPrefix = validatePrefix(props.parameterPrefix ?? '/token-refresher');
    const timeout = props.timeout ?? Duration.seconds(DEFAULT_TIMEOUT_SECONDS);
    if (props.sources.length === 0) throw new Error('TokenRefresher: add at least one source to "sources"');

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'ParameterKey', {
        description: 'Encrypts token-refresher SecureString parameters',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    // Other stacks and CDK apps find the key here (fromParameterPrefix, cross-stack grantRead): no export.
    this.keyArnParameter = new ssm.StringParameter(this, 'KeyArnParameter', {
      parameterName: keyArnParameterName(this.parameterPrefix),
      stringValue: this.encryptionKey.keyArn,
      description: "ARN of the KMS key that encrypts this token-refresher deployment's token parameters",
    });
    this.alarmTopic = props.alarmTopic ?? this.#createTopic();
    this.deadLetterQueue = this.#createDeadLetterQueue();
    this.lockTable = this.#createLockTable();

    const definitions = new Map<ProviderName, SourceDefinition[]>();
    for (const source of props.sources) {
      const { definition, period, threshold } = this.#validate(source, timeout);
      this.#sources.set(source.id, { ...source, period, threshold });
      definitions.set(source.provider, [...(definitions.get(source.provider) ?? []), definition]);
    }

    const alarms = new RefresherAlarms(this, 'Alarms', {
      topic: this.alarmTopic,
      deadLetterQueue: this.deadLetterQueue,
      metricNamespace: props.metricNamespace ?? 'TokenRefresher',
      serviceName: SERVICE_NAME,
    });

    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'Schedules', {
      scheduleGroupName: Names.uniqueResourceName(this, { maxLength: 64, separator: '-' }),
    });
    const perSourceAlarms = props.perSourceAlarms ?? props.sources.length <= 50;
    const firstRefreshBatch = firstRefreshBatchSize(props.ssmWritesPerSecond, timeout.toSeconds());
    const secretPrefixes = props.secretNamePrefix
      ? providerSecretPrefixes(props.secretNamePrefix, [...definitions.keys()])
      : undefined;
    for (const [provider, sources] of definitions) {
      const secretNamePrefix = secretPrefixes?.get(provider);
      const allowedBaseUrls = [...new Set(sources.map((definition) => definition.baseUrl))];
      const fn = this.#createFunction(provider, props, timeout, allowedBaseUrls, perSourceAlarms, {
        ...this.#secretsPinning(sources, secretNamePrefix),
        ...pinnedProfiles(sources),
        ...(props.ssmWritesPerSecond
          ? { REFRESHER_SSM_WRITES_PER_SECOND: String(props.ssmWritesPerSecond) }
          : {}),
      });
      this.functions[provider] = fn;
      alarms.watchFunction(provider, fn);
      const shardSources = sources.map((definition) => {
        const source = this.#source(definition.id);
        return {
          definition,
          period: source.period,
          thresholdSeconds: source.threshold,
          refreshOnDeploy: source.refreshOnDeploy !== false,
          awaitingCredentials: source.awaitingCredentials === true,
        };
      });
      const window = props.scheduleWindow;
      alarms.watchProviderStaleness(
        provider,
        shardSources.map((source) => ({
          ...source,
          period: window ? source.period.plus(window) : source.period,
        })),
      );
      this.#grantSecrets(
        fn,
        sources.map((definition) => this.#source(definition.id)),
        secretNamePrefix,
      );
      const serviceToken = shardSources.some((source) => source.refreshOnDeploy)
        ? this.#firstRefreshProvider(provider, fn)
        : undefined;
      let previous: SourceShard | undefined;
      for (const [index, slice] of assignShards(shardSources, props.sourceShards ?? DEFAULT_SOURCE_SHARDS)) {
        const shard: SourceShard = new SourceShard(this, `${capitalize(provider)}Sources${index + 1}`, {
          fn,
          sources: slice,
          scheduleGroup: this.scheduleGroup,
          deadLetterQueue: this.deadLetterQueue,
          alarmTopic: this.alarmTopic,
          perSourceAlarms,
          metricNamespace: props.metricNamespace ?? 'TokenRefresher',
          serviceName: SERVICE_NAME,
          ...(serviceToken ? { firstRefreshServiceToken: serviceToken } : {}),
          ...(props.scheduleWindow ? { scheduleWindow: props.scheduleWindow } : {}),
          firstRefreshBatch,
        });
        // One shard deploys (and refreshes its sources) at a time, sparing SSM's write throughput.
        if (previous) shard.addStackDependency(previous);
        previous = shard;
      }
    }
    new RefresherDashboard(this, 'Dashboard', {
      metricNamespace: props.metricNamespace ?? 'TokenRefresher',
      serviceName: SERVICE_NAME,
      perSourceMetrics: perSourceAlarms,
      sources: [...this.#sources.values()].map((source) => ({
        id: source.id,
        provider: source.provider,
        thresholdSeconds: source.threshold,
        periodSeconds: source.period.toSeconds() + this.#scheduleWindowSeconds,
      })),
    });
  }

  /**
   * Pins which secret each source may use, so an invocation event cannot point
   * one source's credentials at another source's parameter: a map in the
   * environment for small deployments, a naming rule (`<prefix><id>`) for fleets.
   */
  #secretsPinning(sources: SourceDefinition[], secretNamePrefix: string | undefined): Record<string, string> {
    if (secretNamePrefix) return { REFRESHER_SECRET_NAME_PREFIX: secretNamePrefix };
    // Lambda allows 4 KB of environment; an ARN renders to about 100 characters.
    const estimated = sources.reduce((sum, definition) => sum + definition.id.length + 110, 0);
    if (estimated > 2_000) {
      throw new Error(
        `TokenRefresher: ${sources.length} sources are too many to pin their secrets in the function environment; set "secretNamePrefix" and name each secret <prefix><provider>/<source id>`,
      );
    }
    return {
      REFRESHER_SOURCE_SECRETS: Stack.of(this).toJsonString(
        Object.fromEntries(sources.map((definition) => [definition.id, definition.secretId])),
      ),
    };
  }

  /** GetSecretValue on each source's secret, or for a fleet on its provider's secret name prefix. */
  #grantSecrets(
    fn: nodejs.NodejsFunction,
    sources: TokenRefresherSource[],
    namePrefix: string | undefined,
  ): void {
    grantSourceSecrets(
      fn.role as iam.Role,
      sources.map((source) => ({
        reference: secretReference(this, source.secret, `TokenRefresher source "${source.id}"`),
        encryptionKey: source.secretEncryptionKey,
      })),
      namePrefix,
    );
  }

  /** The parameter consumers read for `sourceId`. */
  parameterName(sourceId: string): string {
    return tokenParameterName(this.parameterPrefix, this.#source(sourceId).provider, sourceId);
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
      rootStack(granteeStack).addDependency(rootStack(here), 'reads the key ARN the refresher publishes');
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

  /** The default schedule may follow the configured token life: invalid options are reported first. */
  #defaultSchedule(
    source: TokenRefresherSource,
    provider: AnyTokenProvider,
    baseUrl: string,
    where: string,
  ): SourceSchedule {
    if (!v.safeParse(provider.optionsSchema, source.options).success) {
      try {
        const unchecked = { secretId: 'unchecked', parameterName: `/unchecked/${source.id}` };
        const draft = { id: source.id, provider: source.provider, baseUrl, options: source.options };
        resolveSource({ ...draft, ...unchecked }, new Map([[provider.name, provider]]), source.id);
      } catch (error) {
        throw new Error(`${where}: ${(error as Error).message.replace(/^source "[^"]*": /, '')}`);
      }
    }
    return defaultSchedule(source.provider, source.options);
  }

  #validate(source: TokenRefresherSource, timeout: Duration) {
    const where = `TokenRefresher source "${source.id}"`;
    if (this.#sources.has(source.id))
      throw new Error(`${where}: the id is used twice; give each source its own id`);
    const provider: AnyTokenProvider | undefined = providerFactories[source.provider]?.();
    if (!provider) {
      throw new Error(
        `${where}: provider "${source.provider}" is unknown (use one of: ${Object.keys(providerFactories).join(', ')})`,
      );
    }
    const baseUrl = source.baseUrl ?? DEFAULT_BASE_URLS[source.provider];
    if (!baseUrl)
      throw new Error(
        `${where}: set "baseUrl"; ${source.provider} has no public default (ask its integration support for the host)`,
      );
    const schedule = source.schedule ?? this.#defaultSchedule(source, provider, baseUrl, where);
    const definition: SourceDefinition = {
      id: source.id,
      provider: source.provider,
      baseUrl,
      secretId: secretReference(this, source.secret, where).secretId,
      parameterName: tokenParameterName(this.parameterPrefix, source.provider, source.id),
      ...(provider.usesPrivateState
        ? {
            privateParameterName: privateStateParameterName(this.parameterPrefix, source.provider, source.id),
          }
        : {}),
      kmsKeyId: this.encryptionKey.keyArn,
      refreshThresholdSeconds: schedule.refreshThreshold.toSeconds(),
      ...(source.options ? { options: source.options } : {}),
    };
    let resolved: ReturnType<typeof resolveSource>;
    try {
      resolved = resolveSource(definition, new Map([[provider.name, provider]]), source.id);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message.replace(/^source "[^"]*": /, '')}`);
    }
    const problem = scheduleProblem({
      periodSeconds: schedule.period.toSeconds(),
      windowSeconds: this.#scheduleWindowSeconds,
      thresholdSeconds: resolved.refreshThresholdSeconds,
      lifetimeSeconds: provider.tokenLifetimeSeconds(resolved.options),
      runTimeoutSeconds: timeout.toSeconds(),
    });
    if (problem) throw new Error(`${where}: ${problem.message}`);
    return { definition, period: schedule.period, threshold: resolved.refreshThresholdSeconds };
  }

  /**
   * The topic is encrypted with its own customer managed key: CloudWatch alarms
   * cannot publish to a topic under the AWS managed aws/sns key, whose policy
   * cannot grant them GenerateDataKey/Decrypt.
   */
  #createTopic(): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the token-refresher alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return new sns.Topic(this, 'AlarmTopic', {
      displayName: 'token-refresher alarms',
      masterKey: key,
      enforceSSL: true,
    });
  }

  #createDeadLetterQueue(): sqs.Queue {
    const queue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the schedules and the refresher functions.',
    });
    return queue;
  }

  #createLockTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'LockTable', {
      partitionKey: { name: 'sourceId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Holds only short-lived refresh leases (minutes); there is nothing to recover to a point in time.',
    });
    return table;
  }

  #createFunction(
    provider: ProviderName,
    props: TokenRefresherProps,
    timeout: Duration,
    allowedBaseUrls: string[],
    metricsPerSource: boolean,
    sourceSecretsPinning: Record<string, string>,
  ): nodejs.NodejsFunction {
    const id = `${capitalize(provider)}Refresher`;
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `token-refresher ${provider} function: its logs, its sources' secrets and parameters, the lock table`,
    });
    const fn = new nodejs.NodejsFunction(this, id, {
      entry: handlerEntry(provider),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      description: `Refreshes ${provider} bearer tokens into SSM SecureString parameters`,
      environment: {
        REFRESHER_DEPLOYMENT: props.deploymentName ?? Stack.of(this).stackName,
        REFRESHER_LOCK_TABLE: this.lockTable.tableName,
        // Pinned here so a source definition in an invocation event cannot send credentials elsewhere
        // or write outside this deployment's paths.
        REFRESHER_ALLOWED_BASE_URLS: JSON.stringify(allowedBaseUrls),
        REFRESHER_PARAMETER_PREFIX: this.parameterPrefix,
        REFRESHER_KMS_KEY_ID: this.encryptionKey.keyArn,
        ...sourceSecretsPinning,
        REFRESHER_METRICS_PER_SOURCE: String(metricsPerSource),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: props.metricNamespace ?? 'TokenRefresher',
      },
      bundling: lambdaBundling({ bundleAwsSDK: true }),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      retryAttempts: 1,
    });
    logGroup.grantWrite(role);
    grantRefresherPermissions(role, {
      provider,
      usesPrivateState: providerFactories[provider]().usesPrivateState,
      parameterPrefix: this.parameterPrefix,
      parameterKey: this.encryptionKey,
      lockTable: this.lockTable,
    });
    // EventBridge Scheduler's invoke role (one per function, at stack level) and the custom-resource framework.
    acknowledgeWildcardResources(
      Stack.of(this),
      [`${fn.functionArn}:*`],
      'lambda:InvokeFunction on the refresher function and its versions (ARN:*), exactly as aws-cdk-lib grants invoke.',
    );
    return fn;
  }

  /** The custom-resource provider through which each shard's deploy-time refresh invokes the function. */
  #firstRefreshProvider(provider: ProviderName, fn: lambda.IFunction): string {
    const id = `${capitalize(provider)}FirstRefresh`;
    const frameworkLogs = new logs.LogGroup(this, `${id}ProviderLogs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const providerFramework = new cr.Provider(this, `${id}Provider`, {
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
}

/**
 * The distinct tunable parts (threshold, options, http, probe) of a function's
 * sources: an invocation event's definition must match one of them exactly.
 */
function pinnedProfiles(sources: SourceDefinition[]): Record<string, string> {
  const profiles = new Map<string, Record<string, unknown>>();
  for (const { refreshThresholdSeconds, options, http, probe } of sources) {
    const profile = { refreshThresholdSeconds, options, http, probe };
    profiles.set(sourceProfile(profile), profile);
  }
  const json = JSON.stringify([...profiles.values()]);
  if (json.length > 2_000) {
    throw new Error(
      `TokenRefresher: the sources of one provider have ${profiles.size} different combinations of schedule threshold and options, too many to pin in the function environment; give sources of one provider the same settings`,
    );
  }
  return { REFRESHER_PINNED_PROFILES: json };
}

/**
 * The handler beside this module, wherever the construct runs from: the `.ts`
 * source in this repository, the compiled `.js` in the installed package.
 */
function handlerEntry(provider: ProviderName): string {
  const source = fileURLToPath(new URL(`../${HANDLER_ENTRIES[provider]}`, import.meta.url));
  return existsSync(source) ? source : source.replace(/\.ts$/, '.js');
}

function rootStack(stack: Stack): Stack {
  return stack.nestedStackParent ? rootStack(stack.nestedStackParent) : stack;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
