import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { firstRefreshBatchSize, MAX_WRITES_PER_REFRESH } from '../../infra/source-shard.ts';
import { TokenRefresher } from '../../infra/token-refresher.ts';
import { type Json, nestedTemplates, resourcesIn, resourcesOf, testApp } from './helpers.ts';

function refresherWith(ssmWritesPerSecond: number | undefined, count = 60) {
  const stack = new Stack(testApp(), 'Paced', { env: { account: '123456789012', region: 'eu-west-1' } });
  new TokenRefresher(stack, 'Refresher', {
    ...(ssmWritesPerSecond === undefined ? {} : { ssmWritesPerSecond }),
    timeout: Duration.seconds(30),
    secretNamePrefix: 'paced/',
    sources: Array.from({ length: count }, (_, index) => ({
      id: `m-${index}`,
      provider: 'paypack' as const,
      secret: secretsmanager.Secret.fromSecretNameV2(stack, `S${index}`, `paced/m-${index}`),
    })),
  });
  return stack;
}

describe('deploy-time refresh batches under SSM write pacing', () => {
  it('sizes each batch so every write of it has its turn within the run (timeout less the 5 s margin)', () => {
    for (const rate of [0.5, 1, 2, 5]) {
      const size = firstRefreshBatchSize(rate, 30);
      assert.ok(size >= 1);
      assert.ok((size * MAX_WRITES_PER_REFRESH) / rate <= 30 - 5, `${size} sources at ${rate}/s`);
    }
    assert.equal(firstRefreshBatchSize(undefined, 30), 25, 'unpaced: the default batch');
  });

  it('builds the batches that way, and pins the pacing in the function environment', () => {
    const stack = refresherWith(1);
    const batches = resourcesIn(nestedTemplates(stack), 'Custom::TokenRefresherFirstRefresh');
    const sizes = batches.map(
      ([, batch]) => JSON.stringify((batch.Properties as Json).Sources).split('\\"id\\"').length - 1,
    );
    assert.equal(
      sizes.reduce((sum, size) => sum + size, 0),
      60,
    );
    assert.ok(Math.max(...sizes) <= firstRefreshBatchSize(1, 30), `batch sizes ${sizes.join(', ')}`);
    const refresher = resourcesOf(Template.fromStack(stack), 'AWS::Lambda::Function').find(([, fn]) =>
      JSON.stringify(fn).includes('REFRESHER_LOCK_TABLE'),
    );
    assert.ok(refresher);
    const variables = ((refresher[1].Properties as Json).Environment as { Variables: Record<string, string> })
      .Variables;
    assert.equal(variables.REFRESHER_SSM_WRITES_PER_SECOND, '1');
  });

  it('refuses, at synth, a rate too low for even one refresh per run', () => {
    assert.throws(
      () => refresherWith(0.1, 1),
      /at 0.1 SSM writes per second a run of 30 s cannot make the 3 writes/,
    );
  });
});
