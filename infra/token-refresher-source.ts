import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import type { ResilienceProfile, SourceSchedule } from './default-schedules.ts';

/** One source as the TokenRefresher construct takes it. */
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
  /** Default: the provider's schedule in DEFAULT_SCHEDULES, or the one `resilience` names. */
  schedule?: SourceSchedule;
  /**
   * `max` picks the schedule that bridges the longest provider outage the token's life allows
   * (Paypack: every minute, under 14.5 min left), instead of the default. Not with `schedule`.
   * Default: the construct's `resilience`, else `default`.
   */
  resilience?: ResilienceProfile;
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
