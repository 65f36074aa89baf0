import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

/** The CDK provider framework calls the refresher with custom-resource events at deploy time. */
describe('deploy-time first refresh (custom-resource events)', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  it('publishes every source on Create, so consumers find a token right after deploy', async () => {
    const sources = [await world.paypackSource(), await world.papayaSource()];
    const response = await world.handler()({
      RequestType: 'Create',
      ResourceProperties: { Sources: JSON.stringify(sources) },
    });
    assert.deepEqual(response, {
      PhysicalResourceId: 'token-refresher-first-refresh',
      Data: { Refreshed: 2, Fresh: 0, Failed: 0 },
    });
    for (const source of sources) assert.ok(await readParameter(world.aws.ssm, source.parameterName));

    const update = await world.handler()({
      RequestType: 'Update',
      PhysicalResourceId: 'token-refresher-first-refresh',
      ResourceProperties: { Sources: JSON.stringify(sources) },
    });
    assert.deepEqual(
      update.Data,
      { Refreshed: 0, Fresh: 2, Failed: 0 },
      'a redeploy does not churn fresh tokens',
    );
  });

  it('fails the deployment when a source cannot be refreshed', async () => {
    const broken = await world.paypackSource({ secretId: 'token-refresher/not-there' });
    await assert.rejects(
      world.handler()({ RequestType: 'Create', ResourceProperties: { Sources: JSON.stringify([broken]) } }),
      new RegExp(`1 of 1 sources failed: ${broken.id} \\(SECRET_NOT_FOUND\\)`),
    );
  });

  it('lets an Update through while a failing source still has a valid token, and fails it once none is left', async () => {
    const source = await world.papayaSource();
    const handler = world.handler();
    await handler({ RequestType: 'Create', ResourceProperties: { Sources: JSON.stringify([source]) } });
    world.papaya.server.inject('token', { kind: 'status', status: 503 });
    try {
      const update = await handler({
        RequestType: 'Update',
        PhysicalResourceId: 'token-refresher-first-refresh',
        ResourceProperties: { Sources: JSON.stringify([{ ...source, refreshThresholdSeconds: 86_399 }]) },
      });
      assert.deepEqual(update.Data, { Refreshed: 0, Fresh: 0, Failed: 1 });

      const fresh = await world.papayaSource();
      await assert.rejects(
        handler({
          RequestType: 'Update',
          PhysicalResourceId: 'x',
          ResourceProperties: { Sources: JSON.stringify([fresh]) },
        }),
        /1 of 1 sources failed/,
        'no token at all: the update fails',
      );
    } finally {
      world.papaya.server.clearFaults();
    }
  });

  it('does nothing on Delete: parameters outlive the stack', async () => {
    const source = await world.papayaSource();
    const callsBefore = world.papaya.server.calls.length;
    const response = await world.handler()({
      RequestType: 'Delete',
      PhysicalResourceId: 'token-refresher-first-refresh',
      ResourceProperties: { Sources: JSON.stringify([source]) },
    });
    assert.deepEqual(response.Data, { Refreshed: 0, Fresh: 0, Failed: 0 });
    assert.equal(world.papaya.server.calls.length, callsBefore, 'no provider call');
    assert.equal(await readParameter(world.aws.ssm, source.parameterName), undefined);
  });
});
