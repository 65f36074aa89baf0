import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { type Json, nestedTemplates, resourcesIn, resourcesOf, statementsOf, synthStage } from './helpers.ts';

const FLEET_SIZE = 1000;

const fleet: StageConfig = {
  name: 'fleet',
  alarmDestination: 'none',
  secretNamePrefix: 'token-refresher/fleet/',
  sources: Array.from({ length: FLEET_SIZE }, (_, index) => ({
    id: `merchant-${String(index + 1).padStart(4, '0')}`,
    provider: 'paypack' as const,
    environment: 'production' as const,
    secret: { name: `token-refresher/fleet/paypack/merchant-${String(index + 1).padStart(4, '0')}` },
  })),
};

describe(`a fleet of ${FLEET_SIZE} Paypack sources`, () => {
  const { stack, template } = synthStage(fleet);
  const shards = nestedTemplates(stack);

  it('fits CloudFormation: schedules spread over 20 nested stacks by id hash, every stack under 500 resources and 1 MB', () => {
    assert.equal(shards.length, 20);
    for (const tpl of [template, ...shards]) {
      const body = JSON.stringify(tpl.toJSON());
      assert.ok(Object.keys(tpl.toJSON().Resources).length < 500);
      assert.ok(body.length < 1_000_000, `template of ${body.length} bytes`);
    }
    assert.equal(resourcesIn(shards, 'AWS::Scheduler::Schedule').length, FLEET_SIZE);
    const batches = resourcesIn(shards, 'Custom::TokenRefresherFirstRefresh');
    assert.ok(batches.length >= 40, `deploy-time refresh in batches of at most 25: ${batches.length}`);
    for (const [, batch] of batches) {
      assert.ok(JSON.stringify((batch.Properties as Json).Sources).split('\\"id\\"').length - 1 <= 25);
    }
  });

  it('keeps a source in its shard when another source is removed', () => {
    const without = synthStage({
      ...fleet,
      sources: fleet.sources.filter((source) => source.id !== 'merchant-0500'),
    });
    const shardOf = (templates: ReturnType<typeof nestedTemplates>, id: string) =>
      templates.findIndex((tpl) =>
        resourcesOf(tpl, 'AWS::Scheduler::Schedule').some(
          ([, schedule]) => (schedule.Properties as Json).Name === id,
        ),
      );
    const after = nestedTemplates(without.stack);
    for (const id of ['merchant-0001', 'merchant-0499', 'merchant-0501', 'merchant-1000']) {
      assert.equal(shardOf(after, id), shardOf(shards, id), id);
    }
  });

  it('runs all sources on one function, with one staleness alarm instead of a thousand', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function').filter(([, fn]) =>
      String((fn.Properties as Json).Description).startsWith('Refreshes'),
    );
    assert.equal(functions.length, 1);
    assert.equal(resourcesIn(shards, 'AWS::CloudWatch::Alarm').length, 0);
    assert.equal(resourcesOf(template, 'AWS::CloudWatch::Alarm').length, 3);
    const [, refresher] = functions[0] ?? [];
    assert.ok(refresher);
    const variables = ((refresher.Properties as Json).Environment as { Variables: Record<string, string> })
      .Variables;
    assert.equal(variables.REFRESHER_METRICS_PER_SOURCE, 'false', 'no per-source custom metrics');
  });

  it("keeps the refresher policy small: one statement for the secrets under its provider's prefix", () => {
    const secrets = statementsOf(template).filter((statement) =>
      JSON.stringify(statement.Action).includes('GetSecretValue'),
    );
    assert.equal(secrets.length, 1);
    assert.match(JSON.stringify(secrets[0]?.Resource), /secret:token-refresher\/fleet\/paypack\/\*"/);
    for (const [, policy] of resourcesOf(template, 'AWS::IAM::Policy')) {
      const size = JSON.stringify((policy.Properties as Json).PolicyDocument).length;
      assert.ok(size < 10_240, `inline policy of ${size} characters`);
    }
  });

  it('passes cdk-nag with nothing unacknowledged', () => {
    assert.deepEqual(new AwsSolutionsChecks().validateScope(stack).violations, []);
  });
});
