/**
 * `npm run simulate`: seven simulated days per provider with the production
 * schedule and thresholds, against sandboxes that fail 20% of calls at random
 * and suffer three 20-minute outages and one of 2 hours. Prints, per provider,
 * the share of time a consumer would find a valid token and the longest gap,
 * and writes the results to docs/freshness-simulation.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultSchedule, type ResilienceProfile } from '../infra/default-schedules.ts';
import {
  type Outage,
  SimulatedNow,
  type SimulationReport,
  simulateFreshness,
} from '../test/simulation/freshness-simulation.ts';
import {
  type RegionOutageReport,
  simulateRegionOutage,
} from '../test/simulation/region-outage-simulation.ts';
import { World } from '../test/support/world.ts';

const { values } = parseArgs({ options: { days: { type: 'string' }, seed: { type: 'string' } } });
const days = Number(values.days ?? 7);
const seed = Number(values.seed ?? 20261121);
const DAY = 86_400;
const outages: Outage[] = [
  { startSeconds: 0.4 * DAY + 600, durationSeconds: 20 * 60 },
  { startSeconds: 1.65 * DAY, durationSeconds: 20 * 60 },
  { startSeconds: 3.3 * DAY + 137, durationSeconds: 20 * 60 },
  { startSeconds: 4.55 * DAY, durationSeconds: 2 * 3600 },
].filter((outage) => outage.startSeconds + outage.durationSeconds < days * DAY);

const simulatedNow = new SimulatedNow(Date.parse('2026-01-05T00:00:00Z'));
const world = await World.start({
  paypack: { now: simulatedNow.now },
  papaya: { now: simulatedNow.now },
  oauth2: { now: simulatedNow.now, accessTokenTtlSeconds: 300 },
});
/** The oauth2 row: 5-minute tokens, the schedule derived from the configured life as synth derives it. */
const oauth2Options = { tokenUrl: '/oauth/token', expectedLifetimeSeconds: 300 };
const OAUTH2_DAYS = 1;
/** Paypack with resilience 'max' runs every minute: two simulated days hold the same first two outages. */
const MAX_PROFILE_DAYS = 2;
const rows: { provider: 'paypack' | 'papaya' | 'oauth2'; profile: ResilienceProfile; days: number }[] = [
  { provider: 'paypack', profile: 'default', days },
  { provider: 'paypack', profile: 'max', days: Math.min(days, MAX_PROFILE_DAYS) },
  { provider: 'papaya', profile: 'default', days },
  // A run a minute for 5-minute tokens: one simulated day keeps the wall time to minutes.
  { provider: 'oauth2', profile: 'default', days: Math.min(days, OAUTH2_DAYS) },
];
const reports: (SimulationReport & { profile: ResilienceProfile })[] = [];
const regionReports: (RegionOutageReport & { profile: ResilienceProfile })[] = [];
const started = Date.now();
try {
  for (const { provider, profile, days: providerDays } of rows) {
    const schedule = defaultSchedule(provider, provider === 'oauth2' ? oauth2Options : undefined, profile);
    reports.push({
      ...(await simulateFreshness(
        world,
        {
          provider,
          days: providerDays,
          periodSeconds: schedule.period.toSeconds(),
          thresholdSeconds: schedule.refreshThreshold.toSeconds(),
          failureRate: 0.2,
          outages: outages.filter(
            (outage) => outage.startSeconds + outage.durationSeconds < providerDays * DAY,
          ),
          retryDelaySeconds: 60,
          seed,
        },
        simulatedNow,
      )),
      profile,
    });
  }
  // A home-region outage of 2 hours, failed over by a person after 10 minutes and back 10 minutes after
  // home returns; and, for comparison, nobody failing over.
  for (const [profile, failoverAfterSeconds] of [
    ['default', 600],
    ['max', 600],
    ['default', undefined],
  ] as const) {
    const schedule = defaultSchedule('paypack', undefined, profile);
    regionReports.push({
      ...(await simulateRegionOutage(
        world,
        {
          hours: 6,
          periodSeconds: schedule.period.toSeconds(),
          thresholdSeconds: schedule.refreshThreshold.toSeconds(),
          outageStartSeconds: 2 * 3600,
          outageSeconds: 2 * 3600,
          failoverAfterSeconds,
          failbackAfterSeconds: 600,
          failureRate: 0.2,
          seed,
        },
        simulatedNow,
      )),
      profile,
    });
  }
} finally {
  await world.stop();
}

// Rounded to a tenth; a float residue of -0.0 prints as 0.0.
const minutes = (seconds: number) => `${(Math.round(seconds / 6) / 10 + 0).toFixed(1)} min`;
const percent = (fraction: number) => `${(fraction * 100).toFixed(3)}%`;
const summary = [
  '| provider | profile | days | schedule | runs | failed runs | refreshes | provider calls | time with a valid token | longest gap | gap outside outages |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...reports.map(
    ({
      plan,
      profile,
      runs,
      failedRuns,
      refreshes,
      providerCalls,
      validFraction,
      longestGapSeconds,
      gapOutsideOutagesSeconds,
    }) =>
      `| ${plan.provider} | ${profile} | ${plan.days} | every ${minutes(plan.periodSeconds)}, refresh under ${minutes(plan.thresholdSeconds)} left | ${runs} | ${failedRuns} | ${refreshes} | ${providerCalls} | ${percent(validFraction)} | ${minutes(longestGapSeconds)} | ${minutes(gapOutsideOutagesSeconds)} |`,
  ),
].join('\n');
const perOutage = [
  '| provider | profile | outage starts (simulated) | length | time without a valid token |',
  '| --- | --- | --- | --- | --- |',
  ...reports.flatMap(({ plan, profile, outages: reported }) =>
    reported.map(
      (outage) =>
        `| ${plan.provider} | ${profile} | day ${(outage.startSeconds / DAY).toFixed(2)} | ${minutes(outage.durationSeconds)} | ${minutes(outage.gapSeconds)} |`,
    ),
  ),
].join('\n');

const regionTable = [
  '| profile | failover | home region: without a valid token, outside its own outage | replica region (eu-west-1): without a valid token | provider calls | authorizations |',
  '| --- | --- | --- | --- | --- | --- |',
  ...regionReports.map(
    ({ plan, profile, homeGapSeconds, replicaGapSeconds, providerCalls, authorizations }) =>
      `| ${profile} | ${plan.failoverAfterSeconds === undefined ? 'none' : `after ${minutes(plan.failoverAfterSeconds)}, back ${minutes(plan.failbackAfterSeconds)} after home returns`} | ${minutes(homeGapSeconds)} | ${minutes(replicaGapSeconds)} | ${providerCalls} | ${authorizations} |`,
  ),
].join('\n');

const document = `# Freshness simulation

Generated by \`npm run simulate\` on ${new Date().toISOString().slice(0, 10)} (Node ${process.version}, ${((Date.now() - started) / 1000).toFixed(0)} s wall time):
${days} simulated days per provider, the real handler on a simulated clock shared with the provider sandbox,
real HTTP to the sandbox and the real AWS SDK against moto. Production schedules and thresholds
(\`DEFAULT_SCHEDULES\` in infra/default-schedules.ts); each provider call fails (HTTP 503) with probability
0.2; outages (every call fails) as listed; a failed run is retried once after 60 s, as Lambda's
asynchronous retry does. Seed ${seed}. The \`oauth2\` row is a generic client-credentials source with
5-minute tokens (its schedule derived from \`expectedLifetimeSeconds: 300\`, as synth derives it), simulated
for ${Math.min(days, OAUTH2_DAYS)} day(s) only: it runs every minute.

${summary}

${perOutage}

What the margins mean: a Paypack token lives 15 minutes and is refreshed once under 10 minutes are left,
checked every 4 minutes, so an outage is survived for at least 10 − 4 = 6 minutes (when it begins just
as a refresh falls due) and at most 15 (when it begins just after a refresh). A 20-minute outage is longer than any Paypack token lives: no schedule
can bridge it, and consumers go without a valid token for its remainder, until the first run after the
provider recovers (within one period). With \`resilience: 'max'\` (the \`paypack | max\` rows: every minute,
refreshed under 14.5 minutes left) at least 13.5 minutes of any outage are bridged, at a refresh every run
instead of every second run four minutes apart (the cost model in docs/performance.md prices both).
Papaya's 24-hour token is refreshed under 12 hours left, hourly:
outages shorter than 11 hours cost nothing.

## A home-region outage, with and without a failover

One Paypack source, refreshed in us-east-1 (home) and copied to eu-west-1, where a standby waits
(docs/regions.md): both are the real handler on the simulated clock, against moto in both regions. For
6 simulated hours the provider fails 20% of calls at random; from hour 2 the home region is down for
2 hours (its schedule does not fire and nothing reaches its Parameter Store). A person fails over 10
minutes into the outage (the active-region marker in eu-west-1, which home cannot be written; the
standby's schedule on) and back 10 minutes after home returns. The home region is counted apart from
its own outage: nobody there can read anything while it is down.

${regionTable}

With the default schedule a copy has at least 6 minutes left when home goes down (refreshed under
10, every 4), so only a failover within 6 minutes bridges every outage; with \`resilience: 'max'\` it
has at least 13.5, and the failover at 10 minutes bridges it. The standby's first run authorizes (it
has no refresh token of its own, and never one from home). Its
token is copied back to home as soon as home answers again, so home's consumers find a valid token from
the standby's first run after the outage. Without a failover, the replica region's consumers lose their
token once the last copy expires (at most 15 minutes into the outage) until home returns.
`;
mkdirSync('docs', { recursive: true });
writeFileSync('docs/freshness-simulation.md', document);
process.stdout.write(
  `${summary}\n\n${perOutage}\n\n${regionTable}\n\nWritten to docs/freshness-simulation.md\n`,
);
