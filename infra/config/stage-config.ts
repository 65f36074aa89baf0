import type { ProviderName } from '../../lambda/providers/provider-names.ts';
import type { ResilienceProfile } from '../default-schedules.ts';

export type ProviderEnvironment = 'sandbox' | 'production';

/** Where a source's credentials live. */
export type SecretReference =
  | { name: string }
  | { arn: string }
  /**
   * Create an empty placeholder secret (named `<secretPrefix>/<source id>`) to fill in after the first
   * deploy. Until `filled: true` is added (and deployed), the source's schedule is disabled and none of
   * its alarms notify anyone: an empty secret pages no one (docs/runbook.md, "Placeholder secrets").
   */
  | { create: true; filled?: boolean };

export interface StageSource {
  id: string;
  provider: ProviderName;
  /** Picks the base URL from the stage's `endpoints` (or the provider's public default). */
  environment: ProviderEnvironment;
  /** Overrides the endpoint lookup. */
  baseUrl?: string;
  secret: SecretReference;
  /** ARN of the customer managed key the secret is encrypted with, if it is not the default aws/secretsmanager key. */
  secretKmsKeyArn?: string;
  /** The key of the secret's replica in the standby region, when the secret uses a customer managed key. */
  standbySecretKmsKeyArn?: string;
  schedule?: { periodMinutes: number; refreshThresholdMinutes: number };
  /** `max`: the schedule that bridges the longest provider outage the token's life allows (not with `schedule`). */
  resilience?: ResilienceProfile;
  /** Provider options (Papaya: expirationSeconds, tokenName). */
  options?: Record<string, unknown>;
}

export interface StageConfig {
  /** dev, prod, …: names the stack `TokenRefresher-<name>`. */
  name: string;
  account?: string;
  /** The home region: where the refresher runs. Required with replicaRegions. */
  region?: string;
  /**
   * Regions whose consumers read the tokens too (docs/regions.md): each gets a stack with its own KMS key,
   * `<prefix>/meta/key-arn` and a copy of every token under the same name. Private state never leaves home.
   */
  replicaRegions?: string[];
  /**
   * One of replicaRegions: deploy a standby refresher there, its schedules off, reading Secrets Manager's
   * replicas of the sources' secrets, for `npm run failover -- --stage <stage> --to <region>`.
   */
  standbyRegion?: string;
  /** Default `/token-refresher/<name>`. */
  parameterPrefix?: string;
  /** Placeholder secrets are named `<secretPrefix>/<source id>`. Default `token-refresher/<name>`. */
  secretPrefix?: string;
  /** Base URLs per provider and environment; Paypack production has a public default, Papaya has none. */
  endpoints?: Partial<Record<ProviderName, Partial<Record<ProviderEnvironment, string>>>>;
  /** Subscribe this address to the alarm topic. */
  alarmEmail?: string;
  /** Send alarms to an existing topic instead of creating one. */
  alarmTopicArn?: string;
  /**
   * `'none'`: deploy knowing that the alarms notify no one (a sandbox account). Without it, a stage with
   * neither `alarmEmail` nor `alarmTopicArn` fails synth.
   */
  alarmDestination?: 'none';
  /**
   * The stage is an example: placeholder hosts (`.invalid`, `.example`, `example.com`) are reported at
   * synth as information instead of failing it, and the template carries a CloudFormation rule that
   * refuses every deploy. Remove it once the placeholders are replaced.
   */
  example?: boolean;
  /** Landing-zone requirements of the target account. */
  landingZone?: LandingZone;
  sources: StageSource[];
  /**
   * For fleets: grant each provider's function every secret under its provider's prefix, instead of each
   * secret by ARN. A string `p` gives provider P the prefix `p` + `P/`; a map names each provider's prefix.
   */
  secretNamePrefix?: string | Partial<Record<ProviderName, string>>;
  /** For fleets: one alarm per source (default: on for up to 50 sources; a provider-wide alarm always exists). */
  perSourceAlarms?: boolean;
  /** The resilience profile of every source that names neither a schedule nor a profile. Default `default`. */
  resilience?: ResilienceProfile;
  /** Deploy the example consumer function, granted this source's token. */
  exampleConsumerSourceId?: string;
}

/** What enterprise landing zones commonly require of every stack deployed into them. */
export interface LandingZone {
  /** ARN of the IAM permissions boundary every role of the stage must carry. */
  permissionsBoundaryArn?: string;
  /** Path of every IAM role of the stage, such as `/workloads/token-refresher/`. */
  rolePath?: string;
  /** Tags put on every resource of the stage (and its nested stacks). */
  tags?: Record<string, string>;
  /** The CDK bootstrap qualifier of the target account (`cdk bootstrap --qualifier`). */
  qualifier?: string;
}
