import { ConfigError } from '../errors.ts';
import {
  type PinnedProfiles,
  type ProviderLookup,
  type ResolvedSource,
  resolveSources,
  type SourcePolicy,
} from './source-config.ts';

/** Everything a handler reads from its environment (README, "Environment"), validated at cold start. */
export interface HandlerSettings {
  sources: ResolvedSource[] | undefined;
  policy: SourcePolicy;
  deploymentName: string;
  safetyMarginMs: number;
  lockTable: string | undefined;
  leaseMs: number;
  /** Emit per-source metric series (a CloudWatch custom metric each) besides the fleet-wide ones. */
  metricsPerSource: boolean;
  /** Most SSM writes per second from one container; undefined: unpaced. */
  ssmWritesPerSecond: number | undefined;
  /** Regions each new token is copied to (REFRESHER_REPLICA_REGIONS), and this deployment's part. */
  regions: RegionSettings | undefined;
}

export interface RegionSettings {
  /** The region the function runs in (AWS_REGION). */
  region: string;
  replicaRegions: string[];
  /** `home` is active until a failover says otherwise; a `standby` only once one makes it active. */
  role: 'home' | 'standby';
  replicaTimeoutMs: number;
  parameterPrefix: string;
}

/** A replica's reads and writes in one run end after this long, well inside the store deadline. */
const DEFAULT_REPLICA_TIMEOUT_MS = 5_000;

/** Time kept back from the Lambda timeout so results are logged and metrics flushed. */
const DEFAULT_SAFETY_MARGIN_MS = 5_000;
/** A held lease is renewed every third of this; a holder silent for a whole lease is taken to be gone. */
const DEFAULT_LEASE_MS = 10_000;

export function readHandlerSettings(
  env: Record<string, string | undefined>,
  providers: ProviderLookup,
): HandlerSettings {
  const policy: SourcePolicy = {
    ...(env.REFRESHER_ALLOWED_BASE_URLS
      ? { allowedBaseUrls: stringList(env.REFRESHER_ALLOWED_BASE_URLS, 'REFRESHER_ALLOWED_BASE_URLS') }
      : {}),
    ...(env.REFRESHER_PARAMETER_PREFIX ? { parameterPrefix: env.REFRESHER_PARAMETER_PREFIX } : {}),
    ...(env.REFRESHER_KMS_KEY_ID ? { kmsKeyId: env.REFRESHER_KMS_KEY_ID } : {}),
    ...(env.REFRESHER_SOURCE_SECRETS
      ? { sourceSecrets: stringMap(env.REFRESHER_SOURCE_SECRETS, 'REFRESHER_SOURCE_SECRETS') }
      : {}),
    ...(env.REFRESHER_SECRET_NAME_PREFIX ? { secretNamePrefix: env.REFRESHER_SECRET_NAME_PREFIX } : {}),
    ...(env.REFRESHER_PINNED_PROFILES
      ? { pinnedProfiles: pinnedProfiles(env.REFRESHER_PINNED_PROFILES, 'REFRESHER_PINNED_PROFILES') }
      : {}),
  };
  const sources = env.REFRESHER_SOURCES
    ? resolveSources(
        parseJsonSetting(env.REFRESHER_SOURCES, 'REFRESHER_SOURCES'),
        providers,
        'REFRESHER_SOURCES',
        policy,
      )
    : undefined;
  const deploymentName = env.REFRESHER_DEPLOYMENT ?? 'token-refresher';
  if (!/^[\w.:-]{1,64}$/.test(deploymentName)) {
    throw new ConfigError(
      undefined,
      'REFRESHER_DEPLOYMENT must be 1-64 letters, digits, "_", ".", ":" or "-"',
    );
  }
  return {
    sources,
    policy,
    deploymentName,
    safetyMarginMs: wholeMs(
      env.REFRESHER_SAFETY_MARGIN_MS,
      'REFRESHER_SAFETY_MARGIN_MS',
      DEFAULT_SAFETY_MARGIN_MS,
      0,
    ),
    lockTable: env.REFRESHER_LOCK_TABLE || undefined,
    leaseMs: wholeMs(env.REFRESHER_LOCK_LEASE_MS, 'REFRESHER_LOCK_LEASE_MS', DEFAULT_LEASE_MS, 1000),
    metricsPerSource: flag(env.REFRESHER_METRICS_PER_SOURCE, 'REFRESHER_METRICS_PER_SOURCE', true),
    ssmWritesPerSecond: positive(env.REFRESHER_SSM_WRITES_PER_SECOND, 'REFRESHER_SSM_WRITES_PER_SECOND'),
    regions: regionSettings(env, policy.parameterPrefix),
  };
}

function regionSettings(
  env: Record<string, string | undefined>,
  parameterPrefix: string | undefined,
): RegionSettings | undefined {
  const role = env.REFRESHER_REGION_ROLE || 'home';
  if (role !== 'home' && role !== 'standby')
    throw new ConfigError(undefined, 'REFRESHER_REGION_ROLE must be "home" or "standby"');
  if (!env.REFRESHER_REPLICA_REGIONS) {
    if (role === 'standby')
      throw new ConfigError(undefined, 'a standby (REFRESHER_REGION_ROLE) needs REFRESHER_REPLICA_REGIONS');
    return undefined;
  }
  const replicaRegions = parseJsonSetting(env.REFRESHER_REPLICA_REGIONS, 'REFRESHER_REPLICA_REGIONS');
  const region = env.AWS_REGION;
  if (
    !Array.isArray(replicaRegions) ||
    !replicaRegions.every((item) => typeof item === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(item))
  ) {
    throw new ConfigError(undefined, 'REFRESHER_REPLICA_REGIONS must be a JSON array of region names');
  }
  if (!region) throw new ConfigError(undefined, 'REFRESHER_REPLICA_REGIONS needs AWS_REGION');
  if (replicaRegions.includes(region))
    throw new ConfigError(undefined, `REFRESHER_REPLICA_REGIONS names this function's own region ${region}`);
  if (!parameterPrefix)
    throw new ConfigError(undefined, 'REFRESHER_REPLICA_REGIONS needs REFRESHER_PARAMETER_PREFIX');
  return {
    region,
    replicaRegions,
    role,
    replicaTimeoutMs: wholeMs(
      env.REFRESHER_REPLICA_TIMEOUT_MS,
      'REFRESHER_REPLICA_TIMEOUT_MS',
      DEFAULT_REPLICA_TIMEOUT_MS,
      100,
    ),
    parameterPrefix,
  };
}

export function parseJsonSetting(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(undefined, `${name} is not valid JSON`);
  }
}

function wholeMs(raw: string | undefined, name: string, fallback: number, minimum: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum) {
    throw new ConfigError(undefined, `${name} must be a whole number of milliseconds, at least ${minimum}`);
  }
  return value;
}

function stringList(raw: string, name: string): string[] {
  const value = parseJsonSetting(raw, name);
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === 'string')) {
    throw new ConfigError(undefined, `${name} must be a JSON array of base URLs`);
  }
  return value;
}

function pinnedProfiles(raw: string, name: string): PinnedProfiles {
  const value = parseJsonSetting(raw, name) as { profiles?: unknown; bySource?: unknown } | null;
  const profiles = value?.profiles;
  const shapeError = new ConfigError(
    undefined,
    `${name} must be {"profiles": [profile, …], "bySource": {"<source id>": <index>, …}}; "bySource" may be left out only with one profile`,
  );
  if (!Array.isArray(profiles) || profiles.length === 0) throw shapeError;
  if (!profiles.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item)))
    throw shapeError;
  const bySource = value?.bySource;
  if (bySource === undefined) {
    if (profiles.length !== 1) throw shapeError;
    return { profiles };
  }
  if (typeof bySource !== 'object' || bySource === null || Array.isArray(bySource)) throw shapeError;
  const indexes = Object.values(bySource);
  if (!indexes.every((index) => Number.isInteger(index) && index >= 0 && index < profiles.length))
    throw shapeError;
  return { profiles, bySource: bySource as Record<string, number> };
}

function flag(raw: string | undefined, name: string, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(undefined, `${name} must be "true" or "false"`);
}

function positive(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value))
    throw new ConfigError(undefined, `${name} must be a positive number`);
  return value;
}

function stringMap(raw: string, name: string): Record<string, string> {
  const value = parseJsonSetting(raw, name);
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Object.values(value).every((v) => typeof v === 'string')
  ) {
    throw new ConfigError(undefined, `${name} must be a JSON object of source id to secret`);
  }
  return value as Record<string, string>;
}
