import type { Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import * as v from 'valibot';
import {
  privateStateParameterName,
  resolveSource,
  type SourceDefinition,
  tokenParameterName,
} from '../lambda/config/source-config.ts';
import { providerFactories } from '../lambda/providers/index.ts';
import type { AnyTokenProvider } from '../lambda/providers/provider.ts';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import { defaultSchedule, type ResilienceProfile, type SourceSchedule } from './default-schedules.ts';
import type { FunctionSource } from './refresher-function.ts';
import { secretReference } from './refresher-permissions.ts';
import { scheduleProblem } from './schedule-policy.ts';
import type { ShardSource } from './source-shard.ts';
import type { TokenRefresherSource } from './token-refresher-source.ts';

export const DEFAULT_BASE_URLS: Partial<Record<ProviderName, string>> = {
  paypack: 'https://payments.paypack.rw/api',
};

/** What a source is checked against: the deployment's settings and the sources accepted before it. */
export interface SourceValidationContext {
  parameterPrefix: string;
  keyArn: string;
  timeout: Duration;
  scheduleWindowSeconds: number;
  /** The construct's profile for sources that name none. */
  resilience?: ResilienceProfile | undefined;
  acceptedIds: Pick<ReadonlySet<string>, 'has'>;
}

/** A source as its function, its shard and the dashboard take it, every default applied. */
export interface ValidatedSource extends FunctionSource, ShardSource {
  refreshOnDeploy: boolean;
  awaitingCredentials: boolean;
}

/**
 * A source as configured, checked and with its defaults applied (base URL,
 * schedule, threshold), or an error at synth naming the source and what is
 * wrong with it: the handler's own rules plus the schedule rule, so a bad
 * source fails `cdk synth` rather than its first run.
 */
export function validateSource(
  scope: Construct,
  source: TokenRefresherSource,
  context: SourceValidationContext,
): ValidatedSource {
  const where = `TokenRefresher source "${source.id}"`;
  if (context.acceptedIds.has(source.id))
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
  if (source.schedule && source.resilience) {
    throw new Error(
      `${where}: give either "schedule" or "resilience", not both (resilience picks a schedule; an explicit one is checked by the same rule)`,
    );
  }
  const resilience = source.resilience ?? context.resilience ?? 'default';
  const schedule = source.schedule ?? checkedDefaultSchedule(source, provider, baseUrl, where, resilience);
  const definition: SourceDefinition = {
    id: source.id,
    provider: source.provider,
    baseUrl,
    secretId: secretReference(scope, source.secret, where).secretId,
    parameterName: tokenParameterName(context.parameterPrefix, source.provider, source.id),
    ...(provider.usesPrivateState
      ? {
          privateParameterName: privateStateParameterName(
            context.parameterPrefix,
            source.provider,
            source.id,
          ),
        }
      : {}),
    kmsKeyId: context.keyArn,
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
    windowSeconds: context.scheduleWindowSeconds,
    thresholdSeconds: resolved.refreshThresholdSeconds,
    lifetimeSeconds: provider.tokenLifetimeSeconds(resolved.options),
    runTimeoutSeconds: context.timeout.toSeconds(),
  });
  if (problem) throw new Error(`${where}: ${problem.message}`);
  return {
    definition,
    period: schedule.period,
    thresholdSeconds: resolved.refreshThresholdSeconds,
    refreshOnDeploy: source.refreshOnDeploy !== false,
    awaitingCredentials: source.awaitingCredentials === true,
    secret: source.secret,
    secretEncryptionKey: source.secretEncryptionKey,
  };
}

/** The default schedule may follow the configured token life: invalid options are reported first. */
function checkedDefaultSchedule(
  source: TokenRefresherSource,
  provider: AnyTokenProvider,
  baseUrl: string,
  where: string,
  resilience: ResilienceProfile,
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
  return defaultSchedule(source.provider, source.options, resilience);
}
