import { createRefreshHandler } from '../../lambda/handlers/create-refresh-handler.ts';
import type { HttpRuntime } from '../../lambda/http/provider-http-client.ts';
import { OAuth2Provider } from '../../lambda/providers/oauth2.ts';
import { PapayaProvider } from '../../lambda/providers/papaya.ts';
import { PaypackProvider } from '../../lambda/providers/paypack.ts';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import type { Fault } from '../sandboxes/sandbox-server.ts';
import { readParameter } from '../support/aws.ts';
import type { World } from '../support/world.ts';

export interface Outage {
  /** Simulated seconds from the start. */
  startSeconds: number;
  durationSeconds: number;
}

export interface SimulationPlan {
  provider: 'paypack' | 'papaya' | 'oauth2';
  days: number;
  periodSeconds: number;
  thresholdSeconds: number;
  /** Probability that any single provider call fails (HTTP 503). */
  failureRate: number;
  outages: Outage[];
  /** Lambda's asynchronous retry of a failed run (the CDK sets one retry). */
  retryDelaySeconds: number;
  seed: number;
}

export interface OutageReport extends Outage {
  /** Seconds without a valid token between the outage start and one period after it ended. */
  gapSeconds: number;
}

export interface SimulationReport {
  plan: SimulationPlan;
  runs: number;
  failedRuns: number;
  refreshes: number;
  providerCalls: number;
  /** Fraction of simulated time in which the parameter held a token that had not expired. */
  validFraction: number;
  longestGapSeconds: number;
  outages: OutageReport[];
  /** Seconds without a valid token that no outage explains (random failures alone). */
  gapOutsideOutagesSeconds: number;
}

/** mulberry32: a small seeded PRNG, so a simulation is reproducible run to run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Runs the real handler on a simulated clock against the sandbox (which shares
 * the clock) and moto: scheduled runs every period, one Lambda retry after a
 * failed run, random provider failures and outages. Between runs the published
 * token cannot change, so validity is exact: a token counts until its expiresAt.
 */
export async function simulateFreshness(
  world: World,
  plan: SimulationPlan,
  simulatedNow: SimulatedNow,
): Promise<SimulationReport> {
  const random = seededRandom(plan.seed);
  const start = simulatedNow.now();
  const at = (seconds: number) => start + seconds * 1000;
  const inOutage = () =>
    plan.outages.some((outage) => {
      const t = (simulatedNow.now() - start) / 1000;
      return t >= outage.startSeconds && t < outage.startSeconds + outage.durationSeconds;
    });
  const sandbox = { paypack: world.paypack, papaya: world.papaya, oauth2: world.oauth2 }[plan.provider]
    .server;
  const chaos = (_route: string): Fault | undefined =>
    inOutage() || random() < plan.failureRate
      ? { kind: 'status', status: 503, body: { error: 'unavailable' } }
      : undefined;
  sandbox.setChaos(chaos);
  const callsBefore = sandbox.calls.length;

  const overrides = { refreshThresholdSeconds: plan.thresholdSeconds };
  const source =
    plan.provider === 'paypack'
      ? await world.paypackSource(overrides)
      : plan.provider === 'oauth2'
        ? await world.oauth2Source(overrides)
        : await world.papayaSource(overrides);
  const runtime: HttpRuntime = {
    fetch: (input, init) => fetch(input, init),
    sleep: async (ms) => simulatedNow.advanceTo(simulatedNow.now() + ms),
    random,
    now: simulatedNow.now,
  };
  const handler = createRefreshHandler({
    providers: [new PaypackProvider(), new PapayaProvider(), new OAuth2Provider()],
    env: { REFRESHER_SOURCES: JSON.stringify([source]) },
    ssm: world.aws.ssm,
    secretsManager: world.aws.secretsManager,
    httpRuntime: runtime,
    clock: simulatedNow.now,
  });

  const horizon = plan.days * 86_400;
  const timeline: { at: number; expiresAt: number }[] = [];
  let runs = 0;
  let failedRuns = 0;
  let refreshes = 0;
  const run = async (): Promise<boolean> => {
    runs += 1;
    try {
      const { outcomes } = await handler({});
      if (outcomes[0]?.status === 'refreshed') refreshes += 1;
      return true;
    } catch {
      failedRuns += 1;
      return false;
    } finally {
      const published = parsePublishedToken(
        (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
      );
      timeline.push({ at: simulatedNow.now(), expiresAt: published ? Date.parse(published.expiresAt) : 0 });
    }
  };

  try {
    for (let tick = 0; tick * plan.periodSeconds < horizon; tick++) {
      simulatedNow.advanceTo(at(tick * plan.periodSeconds));
      if (!(await run())) {
        simulatedNow.advanceTo(
          Math.max(simulatedNow.now(), at(tick * plan.periodSeconds + plan.retryDelaySeconds)),
        );
        await run();
      }
    }
  } finally {
    sandbox.clearFaults();
  }

  const end = at(horizon);
  // Time is counted from the first publish, as after a deploy (whose first refresh must succeed).
  const measuredFrom = timeline.find((point) => point.expiresAt > point.at)?.at ?? start;
  const gaps = invalidIntervals(timeline, measuredFrom, end);
  const invalid = gaps.reduce((sum, [from, to]) => sum + (to - from), 0);
  const outageReports = plan.outages.map((outage) => {
    const from = at(outage.startSeconds);
    const to = at(outage.startSeconds + outage.durationSeconds + plan.periodSeconds);
    const overlap = gaps.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, to) - Math.max(a, from)), 0);
    return { ...outage, gapSeconds: overlap / 1000 };
  });
  return {
    plan,
    runs,
    failedRuns,
    refreshes,
    providerCalls: sandbox.calls.length - callsBefore,
    validFraction: 1 - invalid / (end - measuredFrom),
    longestGapSeconds: Math.max(0, ...gaps.map(([from, to]) => (to - from) / 1000)),
    outages: outageReports,
    gapOutsideOutagesSeconds:
      invalid / 1000 - outageReports.reduce((sum, outage) => sum + outage.gapSeconds, 0),
  };
}

/** Intervals in which the published token had expired (or none existed), from the values seen after each run. */
export function invalidIntervals(
  timeline: { at: number; expiresAt: number }[],
  start: number,
  end: number,
): [number, number][] {
  const gaps: [number, number][] = [];
  let cursor = start;
  let expiresAt = 0;
  const extend = (from: number, to: number) => {
    const last = gaps.at(-1);
    if (last && last[1] >= from) last[1] = Math.max(last[1], to);
    else gaps.push([from, to]);
  };
  for (const point of [...timeline, { at: end, expiresAt: 0 }]) {
    if (point.at < start) {
      expiresAt = point.expiresAt;
      continue;
    }
    const segmentEnd = Math.min(point.at, end);
    if (segmentEnd > cursor && expiresAt < segmentEnd) extend(Math.max(cursor, expiresAt), segmentEnd);
    cursor = segmentEnd;
    expiresAt = point.expiresAt;
  }
  return gaps;
}

/** The clock the handler, the HTTP runtime and the sandbox share; it only moves forward when told. */
export class SimulatedNow {
  #now: number;
  constructor(start: number) {
    this.#now = start;
  }
  now = (): number => this.#now;
  advanceTo(ms: number): void {
    this.#now = Math.max(this.#now, ms);
  }
}
