import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultHttpRuntime } from '../../lambda/http/provider-http-client.ts';
import { awsClients, createLockTable, readParameter } from '../support/aws.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { takeLeaseOver } from '../support/lease-thief.ts';
import { World } from '../support/world.ts';

const TABLE = 'lost-lease-locks';

/** Every point of a Paypack refresh after which another run may take the lease over. */
const STEAL_POINTS = [
  'the lease was taken',
  'the write-ahead marker was written',
  'the refresh path answered',
  'the new refresh token was stored',
  'the probe answered',
] as const;

describe('a run that lost its lease does nothing more (moto, the Paypack sandbox, the real handler)', () => {
  let world: World;
  let motoEndpoint: string;
  before(async () => {
    world = await World.start();
    motoEndpoint = world.moto.endpoint;
    await createLockTable(world.aws.dynamodb, TABLE);
  });
  after(async () => {
    await world.stop();
  });

  for (const point of STEAL_POINTS) {
    it(`lease taken over after ${point}: no provider call, no write, LOCK_LOST`, async () => {
      const source = await world.paypackSource();
      const env = { REFRESHER_LOCK_TABLE: TABLE };
      await world.handler({ env })({ sources: [source] }); // authorizes: a refresh token is stored
      world.paypack.setRefreshPaths(['sdk']);
      // A first forced refresh teaches the source its route, as in steady state.
      await world.handler({ env })({ sources: [source], force: true }, lambdaContext(30_000));
      const good = await readParameter(world.aws.ssm, source.parameterName);

      const clients = awsClients(motoEndpoint);
      let stolen = false;
      const afterSteal = { provider: 0, ssmWrites: 0 };
      let thiefState = '';
      const steal = async () => {
        stolen = true;
        thiefState = await takeLeaseOver(world.aws, TABLE, source);
      };

      let lockUpdates = 0;
      clients.dynamodb.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          lockUpdates += 1;
          if (point === 'the lease was taken' && lockUpdates === 1) await steal();
          return result;
        },
        { step: 'initialize', name: 'stealAfterTake' },
      );
      let privateWrites = 0;
      clients.ssm.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as { Name?: string; Value?: string };
          const isWrite = 'Value' in input && 'Overwrite' in input;
          const result = await next(args);
          if (isWrite && input.Name === source.privateParameterName) {
            privateWrites += 1;
            if (point === 'the write-ahead marker was written' && privateWrites === 1) await steal();
            if (point === 'the new refresh token was stored' && privateWrites === 2) await steal();
          }
          return result;
        },
        { step: 'initialize', name: 'stealAfterWrite' },
      );
      // Innermost, after any guard of the refresher's: counts the writes that really go out.
      clients.ssm.middlewareStack.add(
        (next) => async (args) => {
          if (stolen && 'Value' in (args.input as object)) afterSteal.ssmWrites += 1;
          return next(args);
        },
        { step: 'deserialize', priority: 'low', name: 'countWritesSent' },
      );
      const httpRuntime = {
        ...defaultHttpRuntime,
        fetch: async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
          if (stolen) afterSteal.provider += 1;
          const response = await fetch(input, init);
          const path = new URL(String(input)).pathname;
          if (point === 'the refresh path answered' && path.includes('/auth/refresh/')) await steal();
          if (point === 'the probe answered' && path.endsWith('/merchants/me')) await steal();
          return response;
        },
      };

      const outcome = await world.forcedOutcome(source, { env, ...clients, httpRuntime });
      clients.ssm.destroy();
      clients.dynamodb.destroy();
      clients.secretsManager.destroy();

      assert.ok(stolen, 'the lease was taken over');
      assert.equal(outcome?.status, 'failed');
      assert.equal(outcome?.status === 'failed' ? outcome.error.code : undefined, 'LOCK_LOST');
      assert.equal(afterSteal.provider, 0, 'no provider call after the lease was lost');
      assert.equal(afterSteal.ssmWrites, 0, 'no SSM write after the lease was lost');
      assert.equal((await readParameter(world.aws.ssm, source.parameterName))?.value, good?.value);
      assert.equal(
        (await readParameter(world.aws.ssm, source.privateParameterName ?? ''))?.value,
        thiefState,
        "the new holder's state stands",
      );
      assert.deepEqual(world.paypack.reusedRefreshTokens, []);
    });
  }

  it('an SDK retry of the successor write is refused once the lease is lost: no old refresh token replayed', async () => {
    const source = await world.paypackSource();
    const env = { REFRESHER_LOCK_TABLE: TABLE };
    world.paypack.setRefreshPaths(['sdk']);
    await world.handler({ env })({ sources: [source] });
    const clients = awsClients(motoEndpoint);
    let thiefState = '';
    let privateAttempts = 0;
    let sentAfterSteal = 0;
    let stolen = false;
    clients.ssm.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Name?: string; Value?: string };
        if (input.Name !== source.privateParameterName || input.Value === undefined) return next(args);
        privateAttempts += 1;
        if (stolen) sentAfterSteal += 1;
        // The successor write's first attempt: it times out, and meanwhile another run takes over.
        if (privateAttempts === 2 && !stolen) {
          stolen = true;
          thiefState = await takeLeaseOver(world.aws, TABLE, source);
          throw Object.assign(new Error('socket timed out'), { name: 'TimeoutError', $metadata: {} });
        }
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'timeOutSuccessorWrite' },
    );
    const outcome = await world.forcedOutcome(source, { env, ...clients });
    clients.ssm.destroy();
    clients.dynamodb.destroy();
    clients.secretsManager.destroy();
    assert.ok(stolen, 'the successor write timed out while the lease was taken over');
    assert.equal(sentAfterSteal, 0, 'the SDK retry never went out');
    assert.equal(outcome?.status === 'failed' ? outcome.error.code : outcome?.status, 'LOCK_LOST');
    assert.equal((await readParameter(world.aws.ssm, source.privateParameterName ?? ''))?.value, thiefState);
  });
});
