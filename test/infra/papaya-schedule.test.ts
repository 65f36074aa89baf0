import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { baseStage, type Json, nestedTemplates, resourcesIn, synthStage } from './helpers.ts';

const papayaStage = (options: Record<string, unknown> | undefined): StageConfig => ({
  ...baseStage,
  sources: [
    {
      id: 'payroll-hourly',
      provider: 'papaya',
      environment: 'production',
      secret: { name: 'token-refresher/test/payroll-hourly' },
      ...(options ? { options } : {}),
    },
  ],
});

function onlySchedule(stage: StageConfig): { rate: unknown; threshold: number } {
  const { stack } = synthStage(stage);
  const [schedule] = resourcesIn(nestedTemplates(stack), 'AWS::Scheduler::Schedule').map(
    ([, resource]) => resource.Properties as Json,
  );
  const input = JSON.stringify((schedule?.Target as Json | undefined)?.Input);
  const threshold = Number(/\\"refreshThresholdSeconds\\":(\d+)/.exec(input)?.[1]);
  return { rate: schedule?.ScheduleExpression, threshold };
}

describe("Papaya's default schedule follows the token life the source asks for", () => {
  it('a 1-hour token without a schedule synthesizes: every 15 min, under 1890 s left', () => {
    assert.deepEqual(onlySchedule(papayaStage({ expirationSeconds: 3600 })), {
      rate: 'rate(15 minutes)',
      threshold: 1890,
    });
  });

  it('the 24-hour default is unchanged: hourly, under 12 h left', () => {
    assert.deepEqual(onlySchedule(papayaStage(undefined)), { rate: 'rate(1 hour)', threshold: 43_200 });
  });
});
