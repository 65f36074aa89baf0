import * as v from 'valibot';
import { ConfigError } from '../errors.ts';
import { DEFAULT_HTTP_SETTINGS, type HttpSettings } from '../http/provider-http-client.ts';
import { baseUrlProblem } from '../http/url-policy.ts';
import type { AnyTokenProvider } from '../providers/provider.ts';
import { explainIssue } from '../validation.ts';
import { privateStateParameterName, tokenParameterName } from './parameter-names.ts';
import { type PinnedProfiles, pinnedProfileOf, sourceProfile } from './pinned-profiles.ts';

export { privateStateParameterName, tokenParameterName } from './parameter-names.ts';
export { type PinnedProfiles, pinnedProfileOf, sourceProfile } from './pinned-profiles.ts';

const parameterName = v.pipe(
  v.string(),
  v.regex(
    /^\/[A-Za-z0-9_.\-/]{1,1010}$/,
    'must be an absolute SSM parameter path such as /token-refresher/tokens/my-source',
  ),
  v.check((name) => !name.includes('//') && !name.endsWith('/'), 'must not contain empty path segments'),
);

const sourceSchema = v.strictObject({
  id: v.pipe(
    v.string('must be a string'),
    v.regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
      'must be 1-64 letters, digits, "_", "." or "-", starting alphanumeric',
    ),
  ),
  provider: v.pipe(v.string(), v.nonEmpty()),
  baseUrl: v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      const problem = dataset.typed ? baseUrlProblem(dataset.value) : undefined;
      if (problem) addIssue({ message: problem });
    }),
  ),
  secretId: v.pipe(v.string(), v.trim(), v.nonEmpty('must name a Secrets Manager secret (name or ARN)')),
  parameterName,
  privateParameterName: v.optional(parameterName),
  kmsKeyId: v.optional(v.pipe(v.string(), v.trim(), v.nonEmpty())),
  refreshThresholdSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(60))),
  options: v.optional(v.unknown()),
  /** Call the provider's probe path with a new token before publishing it (default: on where the provider has one). */
  probe: v.optional(v.boolean()),
  http: v.optional(
    v.strictObject({
      timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(60_000))),
      maxAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10))),
      maxResponseBytes: v.optional(
        v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(1024 * 1024)),
      ),
    }),
  ),
});

export type SourceDefinition = v.InferInput<typeof sourceSchema>;

/** A validated source with its provider instance and every default filled in. */
export interface ResolvedSource {
  id: string;
  provider: AnyTokenProvider;
  baseUrl: string;
  secretId: string;
  parameterName: string;
  privateParameterName: string | undefined;
  kmsKeyId: string | undefined;
  refreshThresholdSeconds: number;
  options: unknown;
  http: HttpSettings;
  probe: boolean;
}

export type ProviderLookup = ReadonlyMap<string, AnyTokenProvider>;

/**
 * What a deployment pins so that a source definition arriving in an invocation
 * event cannot send credentials to another host or write outside the paths the
 * deployment owns. Both are set by the CDK construct.
 */
export interface SourcePolicy {
  /** Exact base URLs sources may use. */
  allowedBaseUrls?: readonly string[];
  /** Parameters must be `<prefix>/tokens/<provider>/<id>` and `<prefix>/private/<provider>/<id>/refresh-token`. */
  parameterPrefix?: string;
  /** The one KMS key sources may use. */
  kmsKeyId?: string;
  /** The secret each source id must use (small deployments). */
  sourceSecrets?: Readonly<Record<string, string>>;
  /** Fleets: a source's secret must be named `<prefix><id>` (by name or ARN); the prefix is this provider's. */
  secretNamePrefix?: string;
  /**
   * The tunable parts of each source (threshold, options, http, probe) exactly as
   * the deployment defined them: a definition must match its own source's
   * profile, so an invoker cannot lengthen tokens, rename them, stretch retries
   * and timeouts, or lend one source another's settings.
   */
  pinnedProfiles?: PinnedProfiles;
}

/**
 * Validates a list of source definitions (the JSON contract in the README) and
 * resolves each against the providers this function serves. The first problem
 * found is thrown as a ConfigError naming the source and the field.
 */
export function resolveSources(
  raw: unknown,
  providers: ProviderLookup,
  origin: string,
  policy: SourcePolicy = {},
): ResolvedSource[] {
  if (!Array.isArray(raw)) throw new ConfigError(undefined, `${origin} must be a JSON array of sources`);
  if (raw.length === 0) throw new ConfigError(undefined, `${origin} lists no sources`);
  const resolved = raw.map((entry, index) => resolveSource(entry, providers, `${origin}[${index}]`, policy));
  const ids = new Set<string>();
  const parameters = new Set<string>();
  for (const source of resolved) {
    if (ids.has(source.id)) throw new ConfigError(source.id, `${origin} lists this source id more than once`);
    ids.add(source.id);
    for (const name of [source.parameterName, source.privateParameterName]) {
      if (name === undefined) continue;
      if (parameters.has(name))
        throw new ConfigError(source.id, `parameter "${name}" is used by another source too`);
      parameters.add(name);
    }
  }
  return resolved;
}

export function resolveSource(
  raw: unknown,
  providers: ProviderLookup,
  where: string,
  policy: SourcePolicy = {},
): ResolvedSource {
  const label = sourceLabel(raw, where);
  const parsed = v.safeParse(sourceSchema, raw);
  if (!parsed.success) throw new ConfigError(label, describeIssues(parsed.issues));
  const source = parsed.output;

  const provider = providers.get(source.provider);
  if (!provider) {
    throw new ConfigError(
      label,
      `field "provider": "${source.provider}" is not served here (expected one of: ${[...providers.keys()].join(', ')})`,
    );
  }
  const options = v.safeParse(provider.optionsSchema, source.options);
  if (!options.success) throw new ConfigError(label, describeIssues(options.issues, 'options'));
  const optionsProblem = provider.sourceProblem?.(source.baseUrl, options.output);
  if (optionsProblem) throw new ConfigError(label, optionsProblem);

  if (provider.usesPrivateState && !source.privateParameterName) {
    throw new ConfigError(
      label,
      `field "privateParameterName" is required for ${provider.name} (it holds the refresh token, away from consumers)`,
    );
  }
  if (source.privateParameterName && source.privateParameterName === source.parameterName) {
    throw new ConfigError(label, 'field "privateParameterName" must differ from "parameterName"');
  }

  enforcePolicy(label, source, policy);

  const lifetime = provider.tokenLifetimeSeconds(options.output);
  const threshold = source.refreshThresholdSeconds ?? provider.defaultRefreshThresholdSeconds(options.output);
  if (threshold >= lifetime) {
    throw new ConfigError(
      label,
      `field "refreshThresholdSeconds" (${threshold}) must be below the ${provider.name} token lifetime of ${lifetime} s`,
    );
  }

  return {
    id: source.id,
    provider,
    baseUrl: source.baseUrl,
    secretId: source.secretId,
    parameterName: source.parameterName,
    privateParameterName: source.privateParameterName,
    kmsKeyId: source.kmsKeyId,
    refreshThresholdSeconds: threshold,
    options: options.output,
    http: { ...DEFAULT_HTTP_SETTINGS, ...source.http },
    probe: source.probe ?? true,
  };
}

/**
 * Where a deployment keeps a source's parameters. The provider is part of the
 * path so each provider's function can be granted its own provider's paths only.
 */

function enforcePolicy(
  label: string,
  source: {
    id: string;
    provider: string;
    baseUrl: string;
    secretId: string;
    kmsKeyId?: string | undefined;
    parameterName: string;
    privateParameterName?: string | undefined;
    refreshThresholdSeconds?: number | undefined;
    options?: unknown;
    http?: unknown;
    probe?: boolean | undefined;
  },
  policy: SourcePolicy,
): void {
  if (policy.kmsKeyId !== undefined && source.kmsKeyId !== policy.kmsKeyId) {
    throw new ConfigError(label, 'field "kmsKeyId" must be this deployment\'s key (REFRESHER_KMS_KEY_ID)');
  }
  if (policy.pinnedProfiles) {
    const own = pinnedProfileOf(policy.pinnedProfiles, source.id);
    if (own === undefined) {
      throw new ConfigError(
        label,
        'is not a source this deployment pinned a profile for (REFRESHER_PINNED_PROFILES)',
      );
    }
    if (sourceProfile(own) !== sourceProfile(source)) {
      throw new ConfigError(
        label,
        'fields "refreshThresholdSeconds", "options", "http" and "probe" must be as this deployment defined them for this source (REFRESHER_PINNED_PROFILES)',
      );
    }
  }
  if (!secretAllowed(source.id, source.secretId, policy)) {
    throw new ConfigError(label, 'field "secretId" is not this source\'s secret in this deployment');
  }
  if (policy.allowedBaseUrls && !policy.allowedBaseUrls.includes(source.baseUrl)) {
    throw new ConfigError(
      label,
      'field "baseUrl" is not one this deployment allows (REFRESHER_ALLOWED_BASE_URLS)',
    );
  }
  const prefix = policy.parameterPrefix;
  if (prefix === undefined) return;
  const tokenName = tokenParameterName(prefix, source.provider, source.id);
  if (source.parameterName !== tokenName) {
    throw new ConfigError(label, `field "parameterName" must be "${tokenName}" in this deployment`);
  }
  const privateName = privateStateParameterName(prefix, source.provider, source.id);
  if (source.privateParameterName !== undefined && source.privateParameterName !== privateName) {
    throw new ConfigError(label, `field "privateParameterName" must be "${privateName}" in this deployment`);
  }
}

function sourceLabel(raw: unknown, where: string): string {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' && /^[\w.-]{1,64}$/.test(id) ? id : where;
}

/** Field paths and expectations only: configuration may be pasted from anywhere, so received values are not echoed. */
function describeIssues(issues: readonly v.BaseIssue<unknown>[], prefix?: string): string {
  return issues
    .slice(0, 3)
    .map((issue) => {
      const path = [prefix, v.getDotPath(issue)].filter(Boolean).join('.');
      return path ? `field "${path}" ${explainIssue(issue)}` : explainIssue(issue);
    })
    .join('; ');
}

function secretAllowed(id: string, secretId: string, policy: SourcePolicy): boolean {
  if (policy.sourceSecrets && policy.sourceSecrets[id] !== secretId) return false;
  const prefix = policy.secretNamePrefix;
  if (prefix === undefined) return true;
  const name = `${prefix}${id}`;
  if (secretId === name) return true;
  const arnName = /:secret:(.+)$/.exec(secretId)?.[1];
  return arnName === name || (arnName?.startsWith(`${name}-`) === true && arnName.length === name.length + 7);
}
