import { type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type SourceDefinition, sourceProfile } from '../lambda/config/source-config.ts';
import { providerFactories } from '../lambda/providers/index.ts';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import { HANDLER_FILE, handlerCode } from './handler-code.ts';
import { acknowledgeWildcardResources } from './nag.ts';
import { grantRefresherPermissions, grantSourceSecrets, secretReference } from './refresher-permissions.ts';
import { grantRegionPermissions } from './region-permissions.ts';

/** POWERTOOLS_SERVICE_NAME of the functions: a dimension of their metrics, so alarms and dashboard use it too. */
export const SERVICE_NAME = 'token-refresher';

/** One source of the function, as validated, with the secret it reads. */
export interface FunctionSource {
  definition: SourceDefinition;
  secret: secretsmanager.ISecret;
  /** The customer managed key the secret is encrypted with, if not the default aws/secretsmanager key. */
  secretEncryptionKey?: kms.IKey | undefined;
}

export interface RefresherFunctionProps {
  provider: ProviderName;
  /** Every source of this provider in the deployment. */
  sources: FunctionSource[];
  parameterPrefix: string;
  encryptionKey: kms.IKey;
  lockTable: dynamodb.ITable;
  deadLetterQueue: sqs.IQueue;
  deploymentName: string;
  memorySize: number;
  timeout: Duration;
  logRetention: logs.RetentionDays;
  metricNamespace: string;
  metricsPerSource: boolean;
  /** For a fleet: the provider's secret name prefix, granted and pinned instead of each secret. */
  secretNamePrefix: string | undefined;
  ssmWritesPerSecond: number | undefined;
  /** Regions each new token is copied to (TokenRefresherProps.replicaRegions). */
  replicaRegions: readonly string[];
  /** A standby runs only once a failover makes its region active. */
  standby: boolean;
}

/**
 * One provider's refresher function with its own log group and role. Its
 * environment pins what an invocation event may ask of it (base URLs, secrets,
 * tunable settings), and its role reaches only this provider's parameters,
 * leases and secrets.
 */
export function createRefresherFunction(
  scope: Construct,
  id: string,
  props: RefresherFunctionProps,
): lambda.Function {
  const { provider, sources } = props;
  const definitions = sources.map((source) => source.definition);
  const allowedBaseUrls = [...new Set(definitions.map((definition) => definition.baseUrl))];
  const pinnedSettings = {
    ...secretsPinning(scope, definitions, props.secretNamePrefix),
    ...pinnedProfiles(definitions),
    ...(props.ssmWritesPerSecond
      ? { REFRESHER_SSM_WRITES_PER_SECOND: String(props.ssmWritesPerSecond) }
      : {}),
  };
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `token-refresher ${provider} function: its logs, its sources' secrets and parameters, the lock table`,
  });
  const fn = new lambda.Function(scope, id, {
    code: handlerCode(provider),
    handler: HANDLER_FILE.replace(/\.mjs$/, '.handler'),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    description: `Refreshes ${provider} bearer tokens into SSM SecureString parameters`,
    environment: {
      REFRESHER_DEPLOYMENT: props.deploymentName,
      REFRESHER_LOCK_TABLE: props.lockTable.tableName,
      // Pinned here so a source definition in an invocation event cannot send credentials elsewhere
      // or write outside this deployment's paths.
      REFRESHER_ALLOWED_BASE_URLS: JSON.stringify(allowedBaseUrls),
      REFRESHER_PARAMETER_PREFIX: props.parameterPrefix,
      REFRESHER_KMS_KEY_ID: props.encryptionKey.keyArn,
      ...pinnedSettings,
      REFRESHER_METRICS_PER_SOURCE: String(props.metricsPerSource),
      ...(props.replicaRegions.length > 0
        ? {
            REFRESHER_REPLICA_REGIONS: JSON.stringify(props.replicaRegions),
            REFRESHER_REGION_ROLE: props.standby ? 'standby' : 'home',
          }
        : {}),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: props.metricNamespace,
    },
    onFailure: new destinations.SqsDestination(props.deadLetterQueue),
    retryAttempts: 1,
  });
  logGroup.grantWrite(role);
  grantRefresherPermissions(role, {
    provider,
    usesPrivateState: providerFactories[provider]().usesPrivateState,
    parameterPrefix: props.parameterPrefix,
    parameterKey: props.encryptionKey,
    lockTable: props.lockTable,
  });
  if (props.replicaRegions.length > 0) {
    grantRegionPermissions(role, {
      provider,
      parameterPrefix: props.parameterPrefix,
      replicaRegions: props.replicaRegions,
    });
  }
  // EventBridge Scheduler's invoke role (one per function, at stack level) and the custom-resource framework.
  acknowledgeWildcardResources(
    Stack.of(scope),
    [`${fn.functionArn}:*`],
    'lambda:InvokeFunction on the refresher function and its versions (ARN:*), exactly as aws-cdk-lib grants invoke.',
  );
  // GetSecretValue on each source's secret, or for a fleet on its provider's secret name prefix.
  grantSourceSecrets(
    role,
    sources.map((source) => ({
      reference: secretReference(scope, source.secret, `TokenRefresher source "${source.definition.id}"`),
      encryptionKey: source.secretEncryptionKey,
    })),
    props.secretNamePrefix,
  );
  return fn;
}

/**
 * Pins which secret each source may use, so an invocation event cannot point
 * one source's credentials at another source's parameter: a map in the
 * environment for small deployments, a naming rule (`<prefix><id>`) for fleets.
 */
function secretsPinning(
  scope: Construct,
  sources: SourceDefinition[],
  secretNamePrefix: string | undefined,
): Record<string, string> {
  if (secretNamePrefix) return { REFRESHER_SECRET_NAME_PREFIX: secretNamePrefix };
  // Lambda allows 4 KB of environment; an ARN renders to about 100 characters.
  const estimated = sources.reduce((sum, definition) => sum + definition.id.length + 110, 0);
  if (estimated > 2_000) {
    throw new Error(
      `TokenRefresher: ${sources.length} sources are too many to pin their secrets in the function environment; set "secretNamePrefix" and name each secret <prefix><provider>/<source id>`,
    );
  }
  return {
    REFRESHER_SOURCE_SECRETS: Stack.of(scope).toJsonString(
      Object.fromEntries(sources.map((definition) => [definition.id, definition.secretId])),
    ),
  };
}

/**
 * Each source's tunable parts (threshold, options, http, probe): an invocation
 * event's definition must match its own source's profile exactly. One profile
 * shared by every source needs no list of ids (a fleet's prefix rule).
 */
function pinnedProfiles(sources: SourceDefinition[]): Record<string, string> {
  const indexes = new Map<string, number>();
  const profiles: Record<string, unknown>[] = [];
  const bySource: Record<string, number> = {};
  for (const { id, refreshThresholdSeconds, options, http, probe } of sources) {
    const profile = { refreshThresholdSeconds, options, http, probe };
    const key = sourceProfile(profile);
    if (!indexes.has(key)) {
      indexes.set(key, profiles.length);
      profiles.push(profile);
    }
    bySource[id] = indexes.get(key) ?? 0;
  }
  const json = JSON.stringify(profiles.length === 1 ? { profiles } : { profiles, bySource });
  // Lambda allows 4 KB of environment for all variables together.
  if (json.length > 2_000) {
    throw new Error(
      `TokenRefresher: the ${sources.length} sources of one provider have ${profiles.length} different combinations of schedule threshold and options, too many to pin per source in the function environment; give the sources of one provider the same settings (a fleet pins one profile by its prefix rule)`,
    );
  }
  return { REFRESHER_PINNED_PROFILES: json };
}
