import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AWS_CLIENT_CONFIG } from '../../lambda/aws/bounded-calls.ts';
import type { RefreshRunError } from '../../lambda/handlers/create-refresh-handler.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { stalledEndpoint } from '../support/stalled-endpoint.ts';
import { World } from '../support/world.ts';

const region = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

describe('a stalled AWS endpoint cannot hold a run past its budget', () => {
  let world: World;
  let stall: Awaited<ReturnType<typeof stalledEndpoint>>;
  before(async () => {
    world = await World.start();
    stall = await stalledEndpoint();
  });
  after(async () => {
    await stall.close();
    await world.stop();
  });

  /** The handler with the production AWS client settings, one of its services pointed at the stall. */
  function handlerWithStalled(service: 'ssm' | 'secretsManager') {
    const stalledConfig = { ...AWS_CLIENT_CONFIG, endpoint: stall.url, region, credentials };
    const motoConfig = { ...AWS_CLIENT_CONFIG, endpoint: world.moto.endpoint, region, credentials };
    return world.handler({
      ssm: new SSMClient(service === 'ssm' ? stalledConfig : motoConfig),
      secretsManager: new SecretsManagerClient(service === 'secretsManager' ? stalledConfig : motoConfig),
    });
  }

  for (const [service, budgetMs] of [
    ['ssm', 8_000],
    ['ssm', 3_000],
    ['secretsManager', 8_000],
  ] as const) {
    it(`${service} stalled, ${budgetMs / 1000} s left: the run ends within its budget with an error naming the source`, async () => {
      const source = await world.paypackSource();
      if (service === 'secretsManager') {
        // A published but expiring token, so the run must read the secret.
        await world.handler()({ sources: [source] });
        await world.handler()({ sources: [{ ...source, refreshThresholdSeconds: 899 }] });
      }
      const started = Date.now();
      const error = (await handlerWithStalled(service)(
        { sources: [{ ...source, refreshThresholdSeconds: 899 }] },
        lambdaContext(budgetMs),
      ).catch((thrown) => thrown)) as RefreshRunError;
      const elapsed = Date.now() - started;
      const outcome = error.outcomes?.[0];
      assert.ok(outcome?.status === 'failed', 'the run failed rather than hanging');
      assert.match(outcome.error.message, new RegExp(`^source "${source.id}": `));
      assert.match(outcome.error.code, service === 'ssm' ? /STORE_FAILED/ : /SECRET_UNAVAILABLE/);
      assert.ok(elapsed < budgetMs, `ended after ${elapsed} ms, budget ${budgetMs} ms`);
      console.info(
        `stall ${service} budget ${budgetMs} ms: ended after ${elapsed} ms (${outcome.error.message})`,
      );
    });
  }

  for (const budgetMs of [3_000, 8_000]) {
    it(`lock table stalled, ${budgetMs / 1000} s left: the lease's calls end by the store deadline`, async () => {
      const source = await world.paypackSource();
      await world.handler()({ sources: [source] });
      const stalledLocks = new DynamoDBClient({
        ...AWS_CLIENT_CONFIG,
        endpoint: stall.url,
        region,
        credentials,
      });
      const started = Date.now();
      const error = (await world
        .handler({ dynamodb: stalledLocks, env: { REFRESHER_LOCK_TABLE: 'stalled-locks' } })(
          { sources: [{ ...source, refreshThresholdSeconds: 899 }] },
          lambdaContext(budgetMs),
        )
        .catch((thrown) => thrown)) as RefreshRunError;
      const elapsed = Date.now() - started;
      stalledLocks.destroy();
      const outcome = error.outcomes?.[0];
      assert.ok(outcome?.status === 'failed', 'the run failed rather than hanging');
      assert.match(outcome.error.message, new RegExp(`^source "${source.id}": .*refresh lock`));
      assert.ok(elapsed < budgetMs, `ended after ${elapsed} ms, budget ${budgetMs} ms`);
      console.info(`stall lock table budget ${budgetMs} ms: ended after ${elapsed} ms`);
    });
  }
});
