import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StageConfig, StageSource } from '../../infra/config/stage-config.ts';
import { maxResilienceSchedule } from '../../infra/default-schedules.ts';
import { baseStage, type Json, nestedTemplates, resourcesIn, synthStage } from './helpers.ts';

const paypack = (id: string, extra: Partial<StageSource> = {}): StageSource => ({
  id,
  provider: 'paypack',
  environment: 'production',
  secret: { name: `token-refresher/test/paypack/${id}` },
  ...extra,
});

/** Each source's schedule as synthesized: its rate and the threshold its run carries. */
function schedules(stage: StageConfig): Record<string, { rate: unknown; threshold: number }> {
  const { stack } = synthStage(stage);
  const found: Record<string, { rate: unknown; threshold: number }> = {};
  for (const [, resource] of resourcesIn(nestedTemplates(stack), 'AWS::Scheduler::Schedule')) {
    const properties = resource.Properties as Json;
    const input = JSON.stringify((properties.Target as Json | undefined)?.Input);
    const id = /\\"id\\":\\"([^\\]+)\\"/.exec(input)?.[1] ?? '?';
    found[id] = {
      rate: properties.ScheduleExpression,
      threshold: Number(/\\"refreshThresholdSeconds\\":(\d+)/.exec(input)?.[1]),
    };
  }
  return found;
}

describe("resilience: 'max' picks the schedule that bridges the longest provider outage", () => {
  it('a Paypack source: every minute, under 14.5 min left (the default: every 4 min, under 10)', () => {
    assert.deepEqual(
      schedules({ ...baseStage, sources: [paypack('steady'), paypack('max', { resilience: 'max' })] }),
      {
        steady: { rate: 'rate(4 minutes)', threshold: 600 },
        max: { rate: 'rate(1 minute)', threshold: 870 },
      },
    );
  });

  it('a stage-wide profile, which a source can set back to default', () => {
    const stage = {
      ...baseStage,
      resilience: 'max' as const,
      sources: [paypack('a'), paypack('b', { resilience: 'default' })],
    };
    assert.deepEqual(schedules(stage), {
      a: { rate: 'rate(1 minute)', threshold: 870 },
      b: { rate: 'rate(4 minutes)', threshold: 600 },
    });
  });

  it('follows the token life the source asks for (a 1-hour Papaya token: every 4 min, under 59.5 min left)', () => {
    const papaya: StageSource = {
      id: 'payroll',
      provider: 'papaya',
      environment: 'production',
      secret: { name: 'token-refresher/test/papaya/payroll' },
      options: { expirationSeconds: 3600 },
      resilience: 'max',
    };
    assert.deepEqual(schedules({ ...baseStage, sources: [papaya] }).payroll, {
      rate: 'rate(4 minutes)',
      threshold: 3570,
    });
  });

  it('every run replaces the token, even one that starts up to 30 s earlier after its minute than the last run finished', () => {
    const { period, refreshThreshold } = maxResilienceSchedule(900);
    for (let lastRunTookSeconds = 0; lastRunTookSeconds <= 30; lastRunTookSeconds += 5) {
      for (let thisRunLateSeconds = 0; thisRunLateSeconds <= 30; thisRunLateSeconds += 5) {
        // The token was issued as the last run ended; this run starts one period after that run started.
        const left = 900 - (period.toSeconds() + thisRunLateSeconds - lastRunTookSeconds);
        assert.ok(
          left <= refreshThreshold.toSeconds(),
          `last run took ${lastRunTookSeconds} s, this one ${thisRunLateSeconds} s late: ${left} s left is refreshed`,
        );
      }
    }
  });

  it('refuses a profile beside an explicit schedule, and an unknown profile, saying what to change', () => {
    const both = paypack('both', {
      resilience: 'max',
      schedule: { periodMinutes: 2, refreshThresholdMinutes: 12 },
    });
    assert.throws(
      () => synthStage({ ...baseStage, sources: [both] }),
      /source "both": give either "schedule" or "resilience"/,
    );
    const unknown = paypack('odd', { resilience: 'maximum' as never });
    assert.throws(
      () => synthStage({ ...baseStage, sources: [unknown] }),
      /field "resilience": must be one of: default, max/,
    );
  });
});
