import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SimulatedNow } from '../simulation/freshness-simulation.ts';
import { simulateRegionOutage } from '../simulation/region-outage-simulation.ts';
import { World } from '../support/world.ts';

describe('home-region outage simulation (a short run of npm run simulate)', () => {
  const simulatedNow = new SimulatedNow(Date.parse('2026-03-02T00:00:00Z'));
  let world: World;
  before(async () => {
    world = await World.start({ paypack: { now: simulatedNow.now } });
  });
  after(async () => {
    await world.stop();
  });

  const plan = {
    hours: 2,
    periodSeconds: 240,
    thresholdSeconds: 600,
    outageStartSeconds: 1800,
    outageSeconds: 3600,
    failbackAfterSeconds: 600,
    failureRate: 0,
    seed: 11,
  };

  it('a failover 10 minutes in keeps the replica region served; without one it goes without for most of the outage', async () => {
    const withFailover = await simulateRegionOutage(
      world,
      { ...plan, failoverAfterSeconds: 600 },
      simulatedNow,
    );
    const without = await simulateRegionOutage(
      world,
      { ...plan, failoverAfterSeconds: undefined },
      simulatedNow,
    );

    assert.ok(
      withFailover.replicaGapSeconds <= 240,
      `replica gap ${withFailover.replicaGapSeconds} s with a failover`,
    );
    assert.ok(
      without.replicaGapSeconds >= 3600 - 15 * 60,
      `replica gap ${without.replicaGapSeconds} s without one`,
    );
    // Home's copy is brought up to date by the standby's first run after home answers again.
    assert.ok(
      withFailover.homeGapSeconds <= 240,
      `home gap ${withFailover.homeGapSeconds} s after its outage`,
    );
    assert.ok(withFailover.authorizations >= 2, 'home authorized once, and the standby authorized afresh');
    assert.deepEqual(world.paypack.reusedRefreshTokens, [], 'no refresh token presented twice');
  });
});
