import { Duration } from 'aws-cdk-lib';
import * as v from 'valibot';
import { providerFactories } from '../lambda/providers/index.ts';
import type { AnyTokenProvider } from '../lambda/providers/provider.ts';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import { CONSUMER_MARGIN_SECONDS } from './schedule-policy.ts';

export interface SourceSchedule {
  /** Time between runs; whole minutes. */
  period: Duration;
  /** Refresh when the published token has this much life left or less. */
  refreshThreshold: Duration;
}

/** The refresher functions' default timeout. */
export const DEFAULT_TIMEOUT_SECONDS = 30;

/** A schedule for a token life known only from configuration (oauth2's `expectedLifetimeSeconds`, Papaya's `expirationSeconds`). */
export type ScheduleForLifetime = (lifetimeSeconds: number) => SourceSchedule;

/** Production schedules derived from each provider's token life (see schedule-policy.ts for the rule). */
export const DEFAULT_SCHEDULES: Record<ProviderName, SourceSchedule | ScheduleForLifetime> = {
  // 15-minute tokens: refresh under 10 min left, checked every 4 min (one failed run still leaves > 1.5 min).
  paypack: { period: Duration.minutes(4), refreshThreshold: Duration.minutes(10) },
  // The TTL is chosen per source (`expirationSeconds`, 24 h by default: under 12 h left, hourly).
  papaya: scheduleForLifetime,
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

/**
 * How much of a provider outage a source's schedule should bridge. `default`: the
 * schedules above. `max`: the longest outage the token's life allows, at the cost of
 * many more provider calls: every token is replaced at the first run after it is 30 s
 * old, by runs a fifteenth of its life apart (1 to 60 min). Paypack: every minute,
 * under 14.5 min left, so at least 13.5 min of any outage is bridged, against 6 with
 * the default.
 */
export type ResilienceProfile = 'default' | 'max';
export const RESILIENCE_PROFILES: readonly ResilienceProfile[] = ['default', 'max'];

/**
 * The `max` profile. The threshold is 30 s short of the life, not a whole period: a run
 * that starts a moment earlier after its minute than the last one finished would
 * otherwise find that token with just over the threshold left, and skip its refresh.
 */
export function maxResilienceSchedule(lifetimeSeconds: number): SourceSchedule {
  const periodMinutes = Math.min(60, Math.max(1, Math.floor(lifetimeSeconds / 15 / 60)));
  return {
    period: Duration.minutes(periodMinutes),
    refreshThreshold: Duration.seconds(Math.max(0, lifetimeSeconds - 30)),
  };
}

/** A source's default schedule, from its provider, (valid) options and resilience profile. */
export function defaultSchedule(
  providerName: ProviderName,
  options: unknown,
  resilience: ResilienceProfile = 'default',
): SourceSchedule {
  const entry = DEFAULT_SCHEDULES[providerName];
  if (typeof entry !== 'function' && resilience === 'default') return entry;
  const provider: AnyTokenProvider = providerFactories[providerName]();
  const parsed = v.safeParse(provider.optionsSchema, options);
  if (!parsed.success) throw new Error(`${providerName} options are invalid: no schedule can be derived`);
  const lifetime = provider.tokenLifetimeSeconds(parsed.output);
  if (resilience === 'max') return maxResilienceSchedule(lifetime);
  return typeof entry === 'function' ? entry(lifetime) : entry;
}
