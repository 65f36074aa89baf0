import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createRefreshHandler } from '../../lambda/handlers/create-refresh-handler.ts';
import type { HttpRuntime } from '../../lambda/http/provider-http-client.ts';
import { PaypackProvider } from '../../lambda/providers/paypack.ts';
import { activeRegionParameterName } from '../../lambda/refresh/regions.ts';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import type { Fault } from '../sandboxes/sandbox-server.ts';
import { readParameter } from '../support/aws.ts';
import { AwsFaultInjector } from '../support/aws-fault-injector.ts';
import type { World } from '../support/world.ts';
import { invalidIntervals, type SimulatedNow, seededRandom } from './freshness-simulation.ts';

export interface RegionOutagePlan {
  hours: number;
  periodSeconds: number;
  thresholdSeconds: number;
  /** The home region is down from here, for this long (simulated seconds from the start). */
  outageStartSeconds: number;
  outageSeconds: number;
  /** A person runs `npm run failover` this long after the outage starts; undefined: nobody does. */
  failoverAfterSeconds: number | undefined;
  /** And fails back this long after home returns. */
  failbackAfterSeconds: number;
  failureRate: number;
  seed: number;
}

export interface RegionOutageReport {
  plan: RegionOutagePlan;
  /** Seconds without a valid token to read, per region; home's own outage counted apart. */
  homeGapSeconds: number;
  homeDownSeconds: number;
  replicaGapSeconds: number;
  providerCalls: number;
  authorizations: number;
}

const HOME = 'us-east-1';
const REPLICA = 'eu-west-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const REGION_DOWN: Parameters<AwsFaultInjector['inject']>[1] = { kind: 'network', code: 'ECONNREFUSED' };

/**
 * A Paypack source refreshed at home and copied to a replica region where a
 * standby waits, both real handlers on one simulated clock, while the home
 * region goes down for a while: its functions do not run and nothing reaches its
 * Parameter Store. A person fails over after a delay (the active-region marker,
 * written where it can be, and the standby's schedule on), and fails back once
 * home has returned. Validity per region is read from that region's parameter
 * after every run; home counts as without a token while it is down.
 */
export async function simulateRegionOutage(
  world: World,
  plan: RegionOutagePlan,
  simulatedNow: SimulatedNow,
): Promise<RegionOutageReport> {
  const random = seededRandom(plan.seed);
  const start = simulatedNow.now();
  const at = (seconds: number) => start + seconds * 1000;
  const elapsed = () => (simulatedNow.now() - start) / 1000;
  const sandbox = world.paypack.server;
  sandbox.setChaos((): Fault | undefined =>
    random() < plan.failureRate ? { kind: 'status', status: 503, body: { error: 'unavailable' } } : undefined,
  );
  const callsBefore = sandbox.calls.length;
  const authorizationsBefore = sandbox.calls.filter((call) => call.route === 'authorize').length;
  const id = world.uniqueId('outage');
  // A prefix of its own: markers and key ARNs of an earlier simulation in the same moto must not count.
  const PREFIX = `/token-refresher/${id}`;
  const source = await world.paypackSource({
    id,
    parameterName: `${PREFIX}/tokens/paypack/${id}`,
    privateParameterName: `${PREFIX}/private/paypack/${id}/refresh-token`,
    refreshThresholdSeconds: plan.thresholdSeconds,
  });

  // Everything that talks to the home region goes through this: down during the outage.
  const homeFaults = new AwsFaultInjector();
  const ssmOf = (region: string) =>
    new SSMClient({
      endpoint: world.moto.endpoint,
      region,
      credentials,
      maxAttempts: 1,
      ...(region === HOME ? { requestHandler: homeFaults } : {}),
    });
  const ssm: Record<string, SSMClient> = { [HOME]: ssmOf(HOME), [REPLICA]: ssmOf(REPLICA) };
  for (const region of [HOME, REPLICA]) {
    await ssm[region]?.send(
      new PutParameterCommand({
        Name: `${PREFIX}/meta/key-arn`,
        Value: `arn:aws:kms:${region}:123456789012:key/${region}`,
        Type: 'String',
        Overwrite: true,
      }),
    );
  }
  const runtime: HttpRuntime = {
    fetch: (input, init) => fetch(input, init),
    sleep: async (ms) => simulatedNow.advanceTo(simulatedNow.now() + ms),
    random,
    now: simulatedNow.now,
  };
  const handlerIn = (region: string) =>
    createRefreshHandler({
      providers: [new PaypackProvider()],
      env: {
        AWS_REGION: region,
        REFRESHER_PARAMETER_PREFIX: PREFIX,
        REFRESHER_REPLICA_REGIONS: JSON.stringify([region === HOME ? REPLICA : HOME]),
        REFRESHER_REGION_ROLE: region === HOME ? 'home' : 'standby',
        REFRESHER_SOURCES: JSON.stringify([source]),
      },
      ssm: ssm[region],
      // Secrets Manager's replica of the secret, as the standby reads it.
      secretsManager: world.aws.secretsManager,
      httpRuntime: runtime,
      clock: simulatedNow.now,
      replicaSsm: (replica) => ssm[replica] as SSMClient,
    });
  const handlers: Record<string, ReturnType<typeof handlerIn>> = {
    [HOME]: handlerIn(HOME),
    [REPLICA]: handlerIn(REPLICA),
  };

  const homeDown = () =>
    elapsed() >= plan.outageStartSeconds && elapsed() < plan.outageStartSeconds + plan.outageSeconds;
  const failoverAt =
    plan.failoverAfterSeconds === undefined ? undefined : plan.outageStartSeconds + plan.failoverAfterSeconds;
  const failbackAt = plan.outageStartSeconds + plan.outageSeconds + plan.failbackAfterSeconds;
  let active = HOME;
  let generation = 0;
  const switchTo = async (region: string) => {
    generation += 1;
    // Written wherever it can be: the home region may be down.
    for (const target of [HOME, REPLICA]) {
      if (target === HOME && homeDown()) continue;
      await ssm[target]?.send(
        new PutParameterCommand({
          Name: activeRegionParameterName(PREFIX),
          Value: JSON.stringify({ region, generation }),
          Type: 'String',
          Overwrite: true,
        }),
      );
    }
    active = region;
  };

  const timelines: Record<string, { at: number; expiresAt: number }[]> = { [HOME]: [], [REPLICA]: [] };
  const observe = async () => {
    for (const region of [HOME, REPLICA]) {
      if (region === HOME && homeDown()) continue;
      const value = (await readParameter(ssm[region] as SSMClient, source.parameterName))?.value ?? '';
      const token = parsePublishedToken(value);
      timelines[region]?.push({ at: simulatedNow.now(), expiresAt: token ? Date.parse(token.expiresAt) : 0 });
    }
  };
  const run = async (region: string) => {
    try {
      await (handlers[region] as (event: object) => Promise<unknown>)({});
      return true;
    } catch {
      return false;
    } finally {
      await observe();
    }
  };

  const horizon = plan.hours * 3600;
  try {
    for (let tick = 0; tick * plan.periodSeconds < horizon; tick++) {
      simulatedNow.advanceTo(at(tick * plan.periodSeconds));
      if (homeDown()) {
        for (const operation of ['GetParameter', 'PutParameter']) homeFaults.inject(operation, REGION_DOWN);
      } else homeFaults.clear();
      if (failoverAt !== undefined && active === HOME && elapsed() >= failoverAt) await switchTo(REPLICA);
      if (active === REPLICA && !homeDown() && elapsed() >= failbackAt) await switchTo(HOME);
      // The active region's schedule fires; home's does not while its region is down.
      if (active === HOME && homeDown()) continue;
      if (!(await run(active))) {
        simulatedNow.advanceTo(at(tick * plan.periodSeconds + 60));
        await run(active);
      }
    }
  } finally {
    sandbox.clearFaults();
    homeFaults.clear();
    for (const client of Object.values(ssm)) client.destroy();
  }

  const end = at(horizon);
  const measuredFrom = (timelines[HOME] ?? []).find((point) => point.expiresAt > point.at)?.at ?? start;
  const seconds = (gaps: [number, number][]) => gaps.reduce((sum, [from, to]) => sum + (to - from), 0) / 1000;
  const downFrom = at(plan.outageStartSeconds);
  const downTo = at(plan.outageStartSeconds + plan.outageSeconds);
  const outsideOutage = (gaps: [number, number][]) =>
    gaps.flatMap(
      ([from, to]): [number, number][] =>
        [
          [from, Math.min(to, downFrom)],
          [Math.max(from, downTo), to],
        ].filter(([a, b]) => (b as number) > (a as number)) as [number, number][],
    );
  return {
    plan,
    homeGapSeconds: seconds(outsideOutage(invalidIntervals(timelines[HOME] ?? [], measuredFrom, end))),
    homeDownSeconds: plan.outageSeconds,
    replicaGapSeconds: seconds(invalidIntervals(timelines[REPLICA] ?? [], measuredFrom, end)),
    providerCalls: sandbox.calls.length - callsBefore,
    authorizations: sandbox.calls.filter((call) => call.route === 'authorize').length - authorizationsBefore,
  };
}
