import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { AWS_CLIENT_CONFIG } from '../aws/bounded-calls.ts';
import { type RegionSettings, readHandlerSettings } from '../config/handler-settings.ts';
import {
  type ProviderLookup,
  type ResolvedSource,
  resolveSources,
  type SourcePolicy,
} from '../config/source-config.ts';
import { ConfigError } from '../errors.ts';
import { defaultHttpRuntime, type HttpRuntime } from '../http/provider-http-client.ts';
import type { AnyTokenProvider } from '../providers/provider.ts';
import { CredentialCache } from '../refresh/credential-cache.ts';
import { ParameterStore } from '../refresh/parameter-store.ts';
import { refreshAll } from '../refresh/refresh-all.ts';
import type { SourceOutcome } from '../refresh/refresh-source.ts';
import { RegionSet } from '../refresh/regions.ts';
import { DynamoDbSourceLock, type SourceLock } from '../refresh/source-lock.ts';
import { WritePacer } from '../refresh/write-pacer.ts';
import {
  type DeploymentEvent,
  type DeploymentResponse,
  handleDeploymentEvent,
  isDeploymentEvent,
} from './deployment-event.ts';
import { recordMetrics } from './outcome-metrics.ts';
import { RunMetrics } from './run-metrics.ts';

/**
 * The invocation payload (README, "Configuration contract"). All fields are
 * optional; an empty or EventBridge-shaped event refreshes every source in
 * REFRESHER_SOURCES.
 */
export interface RefreshEvent {
  /** Source definitions carried by the event (per-source schedules); they replace REFRESHER_SOURCES. */
  sources?: unknown;
  /** Restricts the run to these ids of REFRESHER_SOURCES. */
  sourceIds?: unknown;
  /** Refresh even tokens that are still fresh. */
  force?: unknown;
}

export interface RefreshResponse {
  outcomes: SourceOutcome[];
}

export interface RefreshHandlerOptions {
  providers: AnyTokenProvider[];
  env?: Record<string, string | undefined>;
  ssm?: SSMClient;
  secretsManager?: SecretsManagerClient;
  dynamodb?: DynamoDBClient;
  logger?: Logger;
  metrics?: Metrics;
  httpRuntime?: HttpRuntime;
  clock?: () => number;
  /** The SSM client of a replica region (tests point it at an emulator). Default: one per region. */
  replicaSsm?: (region: string) => SSMClient;
}

/** AWS calls end this long before the Lambda does, leaving time to log the outcomes and flush metrics. */
const STORE_MARGIN_MS = 1_000;

export class RefreshRunError extends Error {
  readonly outcomes: SourceOutcome[];
  constructor(failed: Extract<SourceOutcome, { status: 'failed' }>[], outcomes: SourceOutcome[]) {
    super(
      `${failed.length} of ${outcomes.length} sources failed: ${failed.map((o) => `${o.sourceId} (${o.error.code})`).join(', ')}`,
    );
    this.name = 'RefreshRunError';
    this.outcomes = outcomes;
  }
}

/**
 * Builds the Lambda handler for the given providers. Configuration from the
 * environment is validated here, at cold start, so a bad deployment fails at
 * once with the field that is wrong.
 */
export function createRefreshHandler(options: RefreshHandlerOptions) {
  const env = options.env ?? process.env;
  const providers: ProviderLookup = new Map(options.providers.map((provider) => [provider.name, provider]));
  const settings = readHandlerSettings(env, providers);
  const configured = settings.sources;
  const { deploymentName, safetyMarginMs, lockTable, leaseMs } = settings;

  const logger =
    options.logger ?? new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'token-refresher' });
  const metrics =
    options.metrics ??
    new Metrics({
      namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'TokenRefresher',
      serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'token-refresher',
    });
  const httpRuntime = options.httpRuntime ?? defaultHttpRuntime;
  const parameters = new ParameterStore(
    options.ssm ?? new SSMClient(AWS_CLIENT_CONFIG),
    settings.ssmWritesPerSecond
      ? new WritePacer(settings.ssmWritesPerSecond, Date.now, httpRuntime.sleep)
      : undefined,
  );
  const regions =
    settings.regions && regionSet(settings.regions, parameters, options.replicaSsm, options.clock);
  const deps = {
    parameters,
    ...(regions ? { regions } : {}),
    credentials: new CredentialCache(options.secretsManager ?? new SecretsManagerClient(AWS_CLIENT_CONFIG)),
    httpRuntime,
    clock: options.clock ?? Date.now,
    deploymentName,
    logger,
    ...(lockTable ? { lock: lazyLock(lockTable, leaseMs, options.dynamodb) } : {}),
  };

  async function refresh(
    event: RefreshEvent | null | undefined,
    context?: Context,
  ): Promise<RefreshResponse> {
    if (context) logger.addContext(context);
    const sources = selectSources(event ?? {}, configured, providers, settings.policy);
    const remainingMs = context?.getRemainingTimeInMillis();
    const end = remainingMs === undefined ? undefined : Date.now() + remainingMs;
    const run = new RunMetrics(sources);
    const runDeps = {
      ...deps,
      httpRuntime: run.instrumentHttp(deps.httpRuntime),
      ...(deps.lock ? { lock: run.instrumentLock(deps.lock) } : {}),
    };
    const outcomes = await refreshAll(sources, runDeps, {
      force: event?.force === true,
      ...(end === undefined
        ? {}
        : { deadline: end - safetyMarginMs, storeDeadline: end - Math.min(STORE_MARGIN_MS, safetyMarginMs) }),
    });

    for (const outcome of outcomes) {
      if (outcome.status === 'failed') logger.error('token refresh failed', { ...outcome });
      else logger.info(`token ${outcome.status}`, { ...outcome });
      recordMetrics(metrics, outcome, settings.metricsPerSource);
    }
    run.emit(metrics);

    const failed = outcomes.filter((outcome) => outcome.status === 'failed');
    if (failed.length > 0) throw new RefreshRunError(failed, outcomes);
    return { outcomes };
  }

  async function handler(event: DeploymentEvent, context?: Context): Promise<DeploymentResponse>;
  async function handler(event: RefreshEvent | null | undefined, context?: Context): Promise<RefreshResponse>;
  async function handler(
    event: RefreshEvent | DeploymentEvent | null | undefined,
    context?: Context,
  ): Promise<RefreshResponse | DeploymentResponse> {
    if (!isDeploymentEvent(event)) return refresh(event, context);
    return handleDeploymentEvent(event, (sources) => refresh({ sources }, context), logger);
  }
  return handler;
}

function selectSources(
  event: RefreshEvent,
  configured: ResolvedSource[] | undefined,
  providers: ProviderLookup,
  policy: SourcePolicy,
): ResolvedSource[] {
  if (event.sources !== undefined) return resolveSources(event.sources, providers, 'event.sources', policy);
  if (!configured) {
    throw new ConfigError(undefined, 'no sources: set REFRESHER_SOURCES or pass "sources" in the event');
  }
  if (event.sourceIds === undefined) return configured;
  if (!Array.isArray(event.sourceIds) || !event.sourceIds.every((id) => typeof id === 'string')) {
    throw new ConfigError(undefined, 'event.sourceIds must be an array of source ids');
  }
  const unknown = event.sourceIds.filter((id) => !configured.some((source) => source.id === id));
  if (unknown.length > 0)
    throw new ConfigError(undefined, `event.sourceIds names unknown sources: ${unknown.join(', ')}`);
  return configured.filter((source) => (event.sourceIds as string[]).includes(source.id));
}

function regionSet(
  settings: RegionSettings,
  home: ParameterStore,
  replicaSsm: ((region: string) => SSMClient) | undefined,
  clock: (() => number) | undefined,
): RegionSet {
  return new RegionSet({
    region: settings.region,
    home,
    replicas: settings.replicaRegions.map((region) => ({
      region,
      parameters: new ParameterStore(replicaSsm?.(region) ?? new SSMClient({ ...AWS_CLIENT_CONFIG, region })),
    })),
    prefix: settings.parameterPrefix,
    activeByDefault: settings.role === 'home',
    replicaTimeoutMs: settings.replicaTimeoutMs,
    ...(clock ? { clock } : {}),
  });
}

/**
 * The DynamoDB client is created on the first refresh that needs the lock: most runs find the token
 * fresh. It is imported statically: in a single-file bundle a dynamic import() saves no loading, and
 * esbuild then keeps the whole client package (79 KB more, slower on the refresh path; docs/node-24.md).
 */
function lazyLock(tableName: string, leaseMs: number, client: DynamoDBClient | undefined): SourceLock {
  let lock: SourceLock | undefined;
  return {
    tryAcquire(sourceId, budget) {
      lock ??= new DynamoDbSourceLock(client ?? new DynamoDBClient(AWS_CLIENT_CONFIG), tableName, leaseMs);
      return lock.tryAcquire(sourceId, budget);
    },
  };
}
