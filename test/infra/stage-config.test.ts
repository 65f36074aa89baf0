import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import type { StageConfig, StageSource } from '../../infra/config/stage-config.ts';
import { stages } from '../../infra/config/stages.ts';
import { TokenRefresherStack } from '../../infra/token-refresher-stack.ts';
import {
  baseStage,
  type Json,
  nestedTemplates,
  resourcesIn,
  resourcesOf,
  synthStage,
  testApp,
} from './helpers.ts';

const [cashIn, payroll] = baseStage.sources as [StageSource, StageSource];

/** Synthesizes a stage the way `npx cdk synth` does and returns the error message it fails with. */
function synthError(stage: unknown): string {
  try {
    new TokenRefresherStack(testApp(), 'Bad', { stage: stage as StageConfig });
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('synth accepted the stage');
}

describe('stage-config mistakes are caught at synth, naming stage, source and field, with the fix', () => {
  it('a source without "secret"', () => {
    const { secret: _, ...withoutSecret } = cashIn;
    assert.equal(
      synthError({ ...baseStage, sources: [withoutSecret, payroll] }),
      'stage "test", source "cash-in", field "secret": is required; set it to { name: "<secret name>" }, { arn: "<secret ARN>" } or { create: true } (an empty placeholder to fill after the first deploy) (edit infra/config/stages.ts)',
    );
  });

  it('a schedule with only periodMinutes', () => {
    assert.equal(
      synthError({ ...baseStage, sources: [{ ...cashIn, schedule: { periodMinutes: 20 } }] }),
      'stage "test", source "cash-in", field "schedule.refreshThresholdMinutes": is required; a schedule needs both periodMinutes and refreshThresholdMinutes; leave "schedule" out for the provider default (edit infra/config/stages.ts)',
    );
  });

  it('an unknown provider lists the valid ones and gives no endpoint advice', () => {
    const message = synthError({ ...baseStage, sources: [{ ...cashIn, provider: 'paypak' }] });
    assert.equal(
      message,
      'stage "test", source "cash-in", field "provider": "paypak" is not a provider; use one of: paypack, papaya, oauth2 (edit infra/config/stages.ts)',
    );
    assert.doesNotMatch(message, /endpoints/);
  });

  it('a 20-minute Paypack period: possible advice, in minutes', () => {
    const message = synthError({
      ...baseStage,
      sources: [{ ...cashIn, schedule: { periodMinutes: 20, refreshThresholdMinutes: 10 } }],
    });
    assert.equal(
      message,
      'stage "test", source "cash-in", field "schedule.periodMinutes": a 20 min period with a 10 min threshold lets the token expire after one failed run (needs threshold >= 2 x period + 0.5 min run timeout + 1 min consumer margin = 41.5 min, and the token lives 15 min): shorten the period to 4 min or less, or raise the threshold to 14 min and shorten the period to 6 min or less (the paypack default: a 4 min period, a 10 min threshold) (edit infra/config/stages.ts)',
    );
    const thresholds = [...message.matchAll(/threshold to (\d+) min/g)].map((match) => Number(match[1]));
    for (const threshold of thresholds)
      assert.ok(threshold < 15, 'never a threshold at or above the lifetime');
    assert.doesNotMatch(message, /\d s\b/, 'no seconds in a config written in minutes');
  });

  it('a threshold at the token lifetime says how low to go', () => {
    assert.match(
      synthError({
        ...baseStage,
        sources: [{ ...cashIn, schedule: { periodMinutes: 1, refreshThresholdMinutes: 15 } }],
      }),
      /^stage "test", source "cash-in", field "schedule.refreshThresholdMinutes": the refresh threshold \(15 min\) must be below the token lifetime \(15 min\): lower it to 14 min or less/,
    );
  });

  it('ill-typed and unknown fields, all reported at once', () => {
    assert.equal(
      synthError({
        ...baseStage,
        perSourceAlarms: 'yes',
        sources: [{ ...cashIn, environment: 'prod', extra: 1 }],
      }),
      [
        '3 problems in infra/config/stages.ts:',
        '  - stage "test", source "cash-in", field "environment": must be "sandbox" or "production"',
        '  - stage "test", source "cash-in", field "extra": is not a known field',
        '  - stage "test", field "perSourceAlarms": expected boolean',
      ].join('\n'),
    );
  });

  it('a Papaya source with no endpoint names the field to set', () => {
    assert.equal(
      synthError({ ...baseStage, endpoints: {} }),
      'stage "test", source "payroll", field "endpoints.papaya.production": is required, papaya has no public production host; set it (or the source\'s "baseUrl") to the host papaya\'s integration support gave you (edit infra/config/stages.ts)',
    );
  });
});

describe('deploy safety', () => {
  it('a stage with no alarm destination fails synth', () => {
    const { alarmEmail: _, ...silent } = baseStage;
    assert.equal(
      synthError(silent),
      'stage "test", field "alarmEmail": no alarm destination, so alarms would notify no one: set alarmEmail or alarmTopicArn, or alarmDestination: "none" to deploy without one on purpose (edit infra/config/stages.ts)',
    );
  });

  it('a missing alarm destination is reported with the other mistakes, in one round', () => {
    const { alarmEmail: _, ...silent } = baseStage;
    const broken = { ...silent, sources: [{ ...(baseStage.sources[0] as object), provider: 'paypak' }] };
    const message = synthError(broken);
    assert.match(message, /^2 problems in infra\/config\/stages\.ts:/);
    assert.match(message, /field "provider": "paypak" is not a provider/);
    assert.match(message, /field "alarmEmail": no alarm destination/);
  });

  it('an unknown -c stage= is one line naming the known stages, no stack trace', () => {
    const app = spawnSync(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ stage: 'staging' }), CDK_OUTDIR: tmpdir() },
      encoding: 'utf8',
    });
    assert.equal(app.status, 1);
    assert.equal(
      app.stderr.trim(),
      '-c stage=staging: no such stage; the stages in infra/config/stages.ts are dev, prod (edit infra/config/stages.ts)',
    );
  });

  it('alarmDestination: "none" is the explicit opt-out: no subscription at all', () => {
    const { alarmEmail: _, ...silent } = baseStage;
    const { template } = synthStage({ ...silent, alarmDestination: 'none' });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('placeholder hosts and addresses fail synth unless the stage is an example', () => {
    const { example: _, ...real } = baseStage;
    assert.equal(
      synthError(real),
      [
        '2 problems in infra/config/stages.ts:',
        '  - stage "test", source "payroll", field "endpoints.papaya.production": "papaya.example" is a placeholder host; replace it with the real one, or mark the stage example: true (it then synthesizes but CloudFormation refuses to deploy it)',
        '  - stage "test", field "alarmEmail": "example.com" is a placeholder domain; replace it with the real one, or mark the stage example: true (it then synthesizes but CloudFormation refuses to deploy it)',
      ].join('\n'),
    );
    const realHosts = {
      ...real,
      alarmEmail: 'oncall@corp.internal',
      endpoints: { papaya: { production: 'https://api.papaya.internal/api' } },
    };
    assert.equal(synthStage(realHosts).template.toJSON().Rules?.ExampleStageIsNotDeployable, undefined);
  });

  it('placeholder hosts in any spelling, and this machine, fail synth of a real stage', () => {
    const { example: _, ...real } = baseStage;
    for (const url of [
      'https://papaya.example.com./api',
      'https://api.papaya.test/api',
      'https://papaya.localhost/api',
      'http://localhost:8080/api',
      'http://127.0.0.1:9000/api',
      'http://[::1]:9000/api',
    ]) {
      const stage = {
        ...real,
        alarmEmail: 'oncall@corp.internal',
        endpoints: { papaya: { production: url } },
      };
      assert.match(
        synthError(stage),
        /field "endpoints\.papaya\.production": ".*" is a placeholder host/,
        url,
      );
    }
  });

  it('an alarm topic ARN must be a whole SNS topic ARN (no spaces)', () => {
    for (const alarmTopicArn of [
      'arn:aws:sns:eu-west-1:123456789012:my alerts',
      'arn:aws:sns:eu-west-1:alerts',
    ]) {
      assert.match(
        synthError({ ...baseStage, alarmTopicArn }),
        /field "alarmTopicArn": must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:alerts/,
        alarmTopicArn,
      );
    }
  });

  it('an example stage synthesizes, reports its placeholders, and carries a rule that refuses every deploy', () => {
    for (const stage of stages) {
      const { stack, template } = synthStage(stage);
      const rule = template.toJSON().Rules?.ExampleStageIsNotDeployable as Json;
      const [assertion] = rule.Assertions as Json[];
      assert.deepEqual(assertion?.Assert, { 'Fn::Equals': ['example', 'deployable'] });
      assert.match(String(assertion?.AssertDescription), /remove example: true to deploy it/);
      const infos = stack.node.metadata.filter((entry) => entry.type === 'aws:cdk:info').map((e) => e.data);
      assert.ok(
        infos.some((info) =>
          /source "papaya-payroll", field "endpoints\.papaya\.\w+": ".*\.invalid" is a placeholder host/.test(
            String(info),
          ),
        ),
        `reports the .invalid host of stage ${stage.name}: ${infos.join('; ')}`,
      );
    }
  });

  it('placeholder-secret sources: schedule disabled, alarms silent, until filled: true', () => {
    const placeholderStage: StageConfig = {
      ...baseStage,
      sources: [{ ...cashIn, secret: { create: true } }, payroll],
    };
    const { stack, template } = synthStage(placeholderStage);
    const nested = nestedTemplates(stack);
    const schedule = (id: string) =>
      resourcesIn(nested, 'AWS::Scheduler::Schedule')
        .map(([, resource]) => resource.Properties as Json)
        .find((properties) => properties.Name === id);
    assert.equal(schedule('cash-in')?.State, 'DISABLED');
    assert.equal(schedule('payroll')?.State, 'ENABLED');
    const alarms = [
      ...resourcesOf(template, 'AWS::CloudWatch::Alarm'),
      ...resourcesIn(nested, 'AWS::CloudWatch::Alarm'),
    ];
    const actionsEnabled = (match: RegExp) =>
      alarms
        .filter(([, alarm]) => match.test(String((alarm.Properties as Json).AlarmDescription)))
        .map(([, alarm]) => (alarm.Properties as Json).ActionsEnabled);
    assert.deepEqual(actionsEnabled(/source cash-in/), [false]);
    assert.deepEqual(actionsEnabled(/A paypack token/), [false]);
    assert.deepEqual(actionsEnabled(/source payroll/), [true]);
    assert.deepEqual(actionsEnabled(/A papaya token/), [true]);
    assert.equal(
      resourcesIn(nested, 'Custom::TokenRefresherFirstRefresh').length,
      1,
      'only payroll refreshes on deploy',
    );

    const filled = synthStage({
      ...placeholderStage,
      sources: [{ ...cashIn, secret: { create: true, filled: true } }, payroll],
    });
    const filledNested = nestedTemplates(filled.stack);
    assert.ok(
      resourcesIn(filledNested, 'AWS::Scheduler::Schedule').every(
        ([, r]) => (r.Properties as Json).State === 'ENABLED',
      ),
    );
    const filledAlarms = [
      ...resourcesOf(filled.template, 'AWS::CloudWatch::Alarm'),
      ...resourcesIn(filledNested, 'AWS::CloudWatch::Alarm'),
    ];
    assert.ok(filledAlarms.every(([, alarm]) => (alarm.Properties as Json).ActionsEnabled !== false));
  });
});
