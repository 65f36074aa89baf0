import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultSchedule, scheduleForLifetime } from '../../infra/default-schedules.ts';
import {
  invalidIntervals,
  SimulatedNow,
  seededRandom,
  simulateFreshness,
} from '../simulation/freshness-simulation.ts';
import { World } from '../support/world.ts';

describe('freshness simulation (short runs of npm run simulate)', () => {
  const simulatedNow = new SimulatedNow(Date.parse('2026-02-02T00:00:00Z'));
  let world: World;
  before(async () => {
    world = await World.start({
      paypack: { now: simulatedNow.now },
      papaya: { now: simulatedNow.now },
      oauth2: { now: simulatedNow.now },
    });
  });
  after(async () => {
    await world.stop();
  });

  it('keeps a Papaya token valid through a 2-hour outage and 20% random failures', async () => {
    const report = await simulateFreshness(
      world,
      {
        provider: 'papaya',
        days: 2,
        periodSeconds: 3600,
        thresholdSeconds: 43_200,
        failureRate: 0.2,
        outages: [{ startSeconds: 23.5 * 3600, durationSeconds: 2 * 3600 }],
        retryDelaySeconds: 60,
        seed: 7,
      },
      simulatedNow,
    );
    assert.equal(report.validFraction, 1);
    assert.equal(report.longestGapSeconds, 0);
    assert.ok(report.failedRuns >= 2, 'the outage made runs fail');
    assert.ok(report.refreshes >= 4);
  });

  it('bridges a Paypack outage shorter than threshold − period, and not one longer than a token lives', async () => {
    const report = await simulateFreshness(
      world,
      {
        provider: 'paypack',
        days: 0.25,
        periodSeconds: 240,
        thresholdSeconds: 600,
        failureRate: 0.2,
        outages: [
          { startSeconds: 3600, durationSeconds: 5 * 60 },
          { startSeconds: 3 * 3600, durationSeconds: 20 * 60 },
        ],
        retryDelaySeconds: 60,
        seed: 11,
      },
      simulatedNow,
    );
    const [short, long] = report.outages;
    assert.equal(short?.gapSeconds, 0, '5 minutes < 6 minutes of guaranteed margin');
    assert.ok(
      long && long.gapSeconds > 0 && long.gapSeconds < 20 * 60,
      `20-minute outage gap ${long?.gapSeconds} s`,
    );
    assert.ok(report.validFraction < 1 && report.validFraction > 0.9);
    assert.equal(report.gapOutsideOutagesSeconds, 0, '20% random failures alone never cost a valid token');
  });
});

describe("freshness simulation: resilience 'max' against the default, through the same Paypack outages", () => {
  const simulatedNow = new SimulatedNow(Date.parse('2026-04-06T00:00:00Z'));
  let world: World;
  before(async () => {
    world = await World.start({ paypack: { now: simulatedNow.now } });
  });
  after(async () => {
    await world.stop();
  });

  it('the max profile bridges at least 13 minutes of any outage; the default only 6', async () => {
    const outages = [
      { startSeconds: 3600 + 70, durationSeconds: 12 * 60 },
      { startSeconds: 3 * 3600 + 130, durationSeconds: 20 * 60 },
    ];
    const plan = (profile: 'default' | 'max') => {
      const schedule = defaultSchedule('paypack', undefined, profile);
      return {
        provider: 'paypack' as const,
        days: 0.2,
        periodSeconds: schedule.period.toSeconds(),
        thresholdSeconds: schedule.refreshThreshold.toSeconds(),
        failureRate: 0,
        outages,
        retryDelaySeconds: 60,
        seed: 17,
      };
    };
    const max = await simulateFreshness(world, plan('max'), simulatedNow);
    const standard = await simulateFreshness(world, plan('default'), simulatedNow);
    const [maxShort, maxLong] = max.outages;
    assert.equal(maxShort?.gapSeconds, 0, 'a 12-minute outage costs nothing with the max profile');
    assert.ok(
      maxLong && maxLong.gapSeconds <= (20 - 13 + 1) * 60,
      `20-minute outage: ${maxLong?.gapSeconds} s without a token (at most 7 min + one period)`,
    );
    const [standardShort] = standard.outages;
    assert.ok((standardShort?.gapSeconds ?? 0) > 0, 'the default does not bridge 12 minutes here');
    assert.ok(max.validFraction > standard.validFraction);
    assert.ok(max.providerCalls > 2 * standard.providerCalls, 'and it costs more provider calls');
  });
});

describe('freshness simulation for 5-minute oauth2 tokens (default schedule from the configured life)', () => {
  const simulatedNow = new SimulatedNow(Date.parse('2026-03-02T00:00:00Z'));
  let world: World;
  before(async () => {
    world = await World.start({ oauth2: { now: simulatedNow.now, accessTokenTtlSeconds: 300 } });
  });
  after(async () => {
    await world.stop();
  });

  it('bridges a 2-minute outage and 20% random failures, and not an outage longer than a token lives', async () => {
    const schedule = scheduleForLifetime(300);
    const report = await simulateFreshness(
      world,
      {
        provider: 'oauth2',
        days: 0.125,
        periodSeconds: schedule.period.toSeconds(),
        thresholdSeconds: schedule.refreshThreshold.toSeconds(),
        failureRate: 0.2,
        outages: [
          { startSeconds: 3600, durationSeconds: 2 * 60 },
          { startSeconds: 2 * 3600, durationSeconds: 10 * 60 },
        ],
        retryDelaySeconds: 60,
        seed: 13,
      },
      simulatedNow,
    );
    const [short, long] = report.outages;
    assert.equal(short?.gapSeconds, 0, '2 minutes < threshold − period (150 s)');
    assert.ok(long && long.gapSeconds > 0, `10-minute outage gap ${long?.gapSeconds} s`);
    assert.equal(report.gapOutsideOutagesSeconds, 0, '20% random failures alone never cost a valid token');
    assert.ok(report.refreshes >= 40, `${report.refreshes} refreshes in 3 h of 5-minute tokens`);
  });
});

describe('simulation arithmetic', () => {
  it('counts time as invalid from a token expiry until the next run publishes a valid one', () => {
    const start = 0;
    const gaps = invalidIntervals(
      [
        { at: 0, expiresAt: 100 },
        { at: 150, expiresAt: 100 },
        { at: 200, expiresAt: 500 },
      ],
      start,
      600,
    );
    assert.deepEqual(gaps, [
      [100, 200],
      [500, 600],
    ]);
  });

  it('draws the same random sequence for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const draws = Array.from({ length: 5 }, () => a());
    assert.deepEqual(
      draws,
      Array.from({ length: 5 }, () => b()),
    );
    assert.ok(draws.every((draw) => draw >= 0 && draw < 1));
  });
});
