import type { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import type { ResilienceProfile } from './default-schedules.ts';
import type { LandingZoneOptions } from './landing-zone.ts';
import type { TokenRefresherSource } from './token-refresher-source.ts';

/** What a TokenRefresher deploys, and how; every field but `sources` has a default. */
export interface TokenRefresherProps {
  sources: TokenRefresherSource[];
  /**
   * The resilience profile of sources that name neither a schedule nor a profile:
   * `max` bridges the longest provider outage each token's life allows (Paypack:
   * every minute, under 14.5 min left), at about 8 times the provider calls. Default `default`.
   */
  resilience?: ResilienceProfile;
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
  /**
   * Regions whose consumers read the tokens too (docs/regions.md): each new token is
   * published here first, then copied to the same parameter name in each of these
   * regions, encrypted with that region's own key of this deployment
   * (`TokenRefresherReplica`, or the standby's). Private state never leaves. Default: none.
   */
  replicaRegions?: string[];
  /**
   * A standby in a replica region: schedules off, no deploy-time refresh; its runs
   * stand down until `npm run failover` makes its region the active one. Default false.
   */
  standby?: boolean;
}
