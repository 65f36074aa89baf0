import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { scheduleForLifetime } from '../../infra/default-schedules.ts';
import { scheduleProblem } from '../../infra/schedule-policy.ts';
import { baseStage, type Json, nestedTemplates, resourcesIn, synthStage } from './helpers.ts';

const oauth2Stage = (options: Record<string, unknown> | undefined): StageConfig => ({
  ...baseStage,
  endpoints: { ...baseStage.endpoints, oauth2: { production: 'https://auth.bank.example/tenant' } },
  sources: [
    {
      id: 'bank',
      provider: 'oauth2',
      environment: 'production',
      secret: { name: 'token-refresher/test/bank' },
      ...(options ? { options } : {}),
    },
  ],
});

describe('oauth2 sources in the CDK construct', () => {
  it('derives the default schedule from the configured token life', () => {
    const { stack } = synthStage(oauth2Stage({ tokenUrl: '/oauth/token', expectedLifetimeSeconds: 300 }));
    const [schedule] = resourcesIn(nestedTemplates(stack), 'AWS::Scheduler::Schedule').map(
      ([, resource]) => resource.Properties as Json,
    );
    assert.equal(schedule?.ScheduleExpression, 'rate(1 minute)');
    assert.match(
      JSON.stringify((schedule?.Target as Json | undefined)?.Input),
      /\\"refreshThresholdSeconds\\":210/,
    );
  });

  it('refuses an oauth2 source without its expected token life, naming the field', () => {
    assert.throws(
      () => synthStage(oauth2Stage({ tokenUrl: '/oauth/token' })),
      /source "bank": field "options.expectedLifetimeSeconds"/,
    );
    assert.throws(() => synthStage(oauth2Stage(undefined)), /source "bank": field "options"/);
  });

  it('refuses a token URL outside the pinned base URL', () => {
    assert.throws(
      () =>
        synthStage(
          oauth2Stage({ tokenUrl: 'https://elsewhere.example/token', expectedLifetimeSeconds: 3600 }),
        ),
      /field "options.tokenUrl" must lie inside the source's baseUrl/,
    );
  });

  it('derives a period of a quarter of the life (1 to 60 min) and a threshold of half, raised as the rule needs', () => {
    const plan = (lifetimeSeconds: number) => {
      const schedule = scheduleForLifetime(lifetimeSeconds);
      return [schedule.period.toMinutes(), schedule.refreshThreshold.toSeconds()];
    };
    assert.deepEqual(plan(300), [1, 210]);
    assert.deepEqual(plan(3600), [15, 1890]);
    assert.deepEqual(plan(32_400), [60, 16_200]);
    assert.deepEqual(plan(86_400), [60, 43_200]);
  });

  it('gives every plausible life a schedule that bridges one failed run', () => {
    for (const lifetimeSeconds of [240, 300, 600, 900, 3600, 7200, 32_400, 86_400, 604_800]) {
      const schedule = scheduleForLifetime(lifetimeSeconds);
      const problem = scheduleProblem({
        periodSeconds: schedule.period.toSeconds(),
        thresholdSeconds: schedule.refreshThreshold.toSeconds(),
        lifetimeSeconds,
        runTimeoutSeconds: 30,
      });
      assert.equal(problem, undefined, `${lifetimeSeconds} s`);
    }
  });
});
