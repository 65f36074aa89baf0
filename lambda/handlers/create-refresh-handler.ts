import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { type ProviderLookup, type ResolvedSource, resolveSources } from '../config/source-config.ts';
import { ConfigError } from '../errors.ts';
import { defaultHttpRuntime, type HttpRuntime } from '../http/provider-http-client.ts';
import type { AnyTokenProvider } from '../providers/provider.ts';
import { CredentialCache } from '../refresh/credential-cache.ts';
import { ParameterStore } from '../refresh/parameter-store.ts';
import { refreshAll } from '../refresh/refresh-all.ts';
import type { SourceOutcome } from '../refresh/refresh-source.ts';
import { DynamoDbSourceLock } from '../refresh/source-lock.ts';
import {
  DEPLOYMENT_RESOURCE_ID,
  type DeploymentEvent,
  type DeploymentResponse,
  isDeploymentEvent,
} from './deployment-event.ts';

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
}

/** Time kept back from the Lambda timeout so results are logged and metrics flushed. */
const DEFAULT_SAFETY_MARGIN_MS = 3_000;
/** Must outlive the function timeout, so a lease is never taken over while its holder still runs. */
const DEFAULT_LEASE_MS = 15 * 60 * 1000;

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
  const configured = env.REFRESHER_SOURCES
    ? resolveSources(parseJson(env.REFRESHER_SOURCES, 'REFRESHER_SOURCES'), providers, 'REFRESHER_SOURCES')
    : undefined;
  const deploymentName = env.REFRESHER_DEPLOYMENT ?? 'token-refresher';
  if (!/^[\w.:-]{1,64}$/.test(deploymentName)) {
    throw new ConfigError(
      undefined,
      'REFRESHER_DEPLOYMENT must be 1-64 letters, digits, "_", ".", ":" or "-"',
    );
  }
  const safetyMarginMs = env.REFRESHER_SAFETY_MARGIN_MS
    ? Number(env.REFRESHER_SAFETY_MARGIN_MS)
    : DEFAULT_SAFETY_MARGIN_MS;
  if (!Number.isInteger(safetyMarginMs) || safetyMarginMs < 0) {
    throw new ConfigError(undefined, 'REFRESHER_SAFETY_MARGIN_MS must be a whole number of milliseconds');
  }

  const logger =
    options.logger ?? new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'token-refresher' });
  const metrics =
    options.metrics ??
    new Metrics({
      namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'TokenRefresher',
      serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'token-refresher',
    });
  const lockTable = env.REFRESHER_LOCK_TABLE;
  const leaseMs = env.REFRESHER_LOCK_LEASE_MS ? Number(env.REFRESHER_LOCK_LEASE_MS) : DEFAULT_LEASE_MS;
  if (!Number.isInteger(leaseMs) || leaseMs < 1000) {
    throw new ConfigError(
      undefined,
      'REFRESHER_LOCK_LEASE_MS must be a whole number of milliseconds, at least 1000',
    );
  }
  const deps = {
    parameters: new ParameterStore(options.ssm ?? new SSMClient({})),
    credentials: new CredentialCache(options.secretsManager ?? new SecretsManagerClient({})),
    httpRuntime: options.httpRuntime ?? defaultHttpRuntime,
    clock: options.clock ?? Date.now,
    deploymentName,
    logger,
    ...(lockTable
      ? { lock: new DynamoDbSourceLock(options.dynamodb ?? new DynamoDBClient({}), lockTable, leaseMs) }
      : {}),
  };

  async function refresh(
    event: RefreshEvent | null | undefined,
    context?: Context,
  ): Promise<RefreshResponse> {
    if (context) logger.addContext(context);
    const sources = selectSources(event ?? {}, configured, providers);
    const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - safetyMarginMs : undefined;
    const outcomes = await refreshAll(sources, deps, {
      force: event?.force === true,
      ...(deadline ? { deadline } : {}),
    });

    for (const outcome of outcomes) {
      if (outcome.status === 'failed') logger.error('token refresh failed', { ...outcome });
      else logger.info(`token ${outcome.status}`, { ...outcome });
      recordMetrics(metrics, outcome);
    }

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
    if (event.RequestType === 'Delete') {
      return {
        PhysicalResourceId: event.PhysicalResourceId ?? DEPLOYMENT_RESOURCE_ID,
        Data: { Refreshed: 0, Fresh: 0 },
      };
    }
    const sources = parseJson(
      event.ResourceProperties.Sources ?? '',
      "the deployment event's Sources property",
    );
    const { outcomes } = await refresh({ sources }, context);
    const count = (status: string) => outcomes.filter((outcome) => outcome.status === status).length;
    return {
      PhysicalResourceId: DEPLOYMENT_RESOURCE_ID,
      Data: { Refreshed: count('refreshed'), Fresh: count('fresh') },
    };
  }
  return handler;
}

/** One EMF record per metric: a Powertools single metric flushes, and drops its dimensions, on each addMetric. */
function recordMetrics(metrics: Metrics, outcome: SourceOutcome): void {
  const emit = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number) => {
    const single = metrics.singleMetric();
    single.addDimension('Source', outcome.sourceId);
    single.addMetric(name, unit, value);
  };
  // Staleness is emitted on every run, failed or not: it is what the alarm on an expiring token watches.
  if (outcome.secondsRemaining !== undefined) {
    emit('TokenSecondsRemaining', MetricUnit.Seconds, Math.max(0, outcome.secondsRemaining));
  }
  emit('RefreshFailed', MetricUnit.Count, outcome.status === 'failed' ? 1 : 0);
}

function selectSources(
  event: RefreshEvent,
  configured: ResolvedSource[] | undefined,
  providers: ProviderLookup,
): ResolvedSource[] {
  if (event.sources !== undefined) return resolveSources(event.sources, providers, 'event.sources');
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

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(undefined, `${name} is not valid JSON`);
  }
}
