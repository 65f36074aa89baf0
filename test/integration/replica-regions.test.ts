import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import { TokenReader } from '../../packages/client/src/get-token.ts';
import { awsClients, createLockTable, readParameter, TEST_REGION } from '../support/aws.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { takeLeaseOver } from '../support/lease-thief.ts';
import { resetMoto } from '../support/moto.ts';
import { stalledEndpoint } from '../support/stalled-endpoint.ts';
import { World } from '../support/world.ts';

const REPLICA = 'eu-west-1';
const PREFIX = '/token-refresher/regions';
const REPLICA_KEY = `arn:aws:kms:${REPLICA}:123456789012:key/replica-key`;
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

describe('replica regions: each new token is published at home, then in every replica region', () => {
  let world: World;
  let replicaSsm: SSMClient;

  before(async () => {
    world = await World.start();
    replicaSsm = new SSMClient({ endpoint: world.moto.endpoint, region: REPLICA, credentials });
  });
  after(async () => {
    replicaSsm.destroy();
    await world.stop();
  });
  beforeEach(async () => {
    await resetMoto(world.moto.endpoint);
    await putString(replicaSsm, `${PREFIX}/meta/key-arn`, REPLICA_KEY);
  });

  async function paypackSource(): Promise<SourceDefinition & { id: string }> {
    const id = world.uniqueId('regional');
    return world.paypackSource({
      id,
      parameterName: `${PREFIX}/tokens/paypack/${id}`,
      privateParameterName: `${PREFIX}/private/paypack/${id}/refresh-token`,
    });
  }

  function handler(env: Record<string, string> = {}, replicaClient: SSMClient = replicaSsm) {
    return world.handler({
      env: {
        AWS_REGION: TEST_REGION,
        REFRESHER_PARAMETER_PREFIX: PREFIX,
        REFRESHER_REPLICA_REGIONS: JSON.stringify([REPLICA]),
        ...env,
      },
      replicaSsm: (region) => {
        assert.equal(region, REPLICA);
        return replicaClient;
      },
    });
  }

  async function outcomeOf(run: Promise<{ outcomes: SourceOutcome[] }>): Promise<SourceOutcome> {
    try {
      return (await run).outcomes[0] as SourceOutcome;
    } catch (error) {
      const outcome = (error as { outcomes?: SourceOutcome[] }).outcomes?.[0];
      if (!outcome) throw error;
      return outcome;
    }
  }

  it('a consumer in the replica region reads the home token with the packaged client; no private state leaves home', async () => {
    const source = await paypackSource();
    const outcome = await outcomeOf(handler()({ sources: [source] }, lambdaContext(30_000)));
    assert.equal(outcome.status, 'refreshed');
    assert.deepEqual(
      outcome.replicas?.map(({ region, status }) => ({ region, status })),
      [{ region: REPLICA, status: 'updated' }],
    );

    const home = await new TokenReader({ ssm: world.aws.ssm }).getToken(source.parameterName);
    const there = await new TokenReader({ ssm: replicaSsm }).getToken(source.parameterName);
    assert.equal(there.token, home.token);
    assert.equal(there.expiresAt, home.expiresAt);

    const { Parameters } = await replicaSsm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Values: [source.parameterName] }],
      }),
    );
    assert.equal(Parameters?.[0]?.Type, 'SecureString');
    assert.equal(Parameters?.[0]?.KeyId, REPLICA_KEY, "encrypted with the replica region's own key");
    const everything = await replicaSsm.send(
      new GetParametersByPathCommand({ Path: PREFIX, Recursive: true }),
    );
    assert.deepEqual(
      everything.Parameters?.map((parameter) => parameter.Name).sort(),
      [`${PREFIX}/meta/key-arn`, source.parameterName],
      'the replica region holds the key ARN and the token, never the refresh token',
    );
    assert.ok(await readParameter(world.aws.ssm, source.privateParameterName ?? ''), 'private state at home');
  });

  it('a run that finds the home token fresh brings a lagging replica up to date, and leaves a current one alone', async () => {
    const source = await paypackSource();
    await outcomeOf(handler()({ sources: [source] }, lambdaContext(30_000)));
    const calls = world.paypack.server.calls.length;

    const again = await outcomeOf(handler()({ sources: [source] }, lambdaContext(30_000)));
    assert.equal(again.status, 'fresh');
    assert.equal(again.replicas?.[0]?.status, 'current');
    assert.ok((again.replicas?.[0]?.secondsRemaining ?? 0) > 600);

    await replicaSsm.send(new DeleteParameterCommand({ Name: source.parameterName }));
    const caughtUp = await outcomeOf(handler()({ sources: [source] }, lambdaContext(30_000)));
    assert.equal(caughtUp.status, 'fresh');
    assert.equal(caughtUp.replicas?.[0]?.status, 'updated');
    assert.equal(world.paypack.server.calls.length, calls, 'catching up calls no provider');
    const home = await readParameter(world.aws.ssm, source.parameterName);
    assert.equal((await readParameter(replicaSsm, source.parameterName))?.value, home?.value);
  });

  it('a lock table that fails while a lagging copy is caught up leaves the outcome fresh and the copy behind', async () => {
    const source = await paypackSource();
    await createLockTable(world.aws.dynamodb, 'replica-locks');
    const locked = () => handler({ REFRESHER_LOCK_TABLE: 'replica-locks' });
    await outcomeOf(locked()({ sources: [source] }, lambdaContext(30_000)));
    await replicaSsm.send(new DeleteParameterCommand({ Name: source.parameterName }));
    world.awsFaults.inject('UpdateItem', {
      kind: 'error',
      status: 400,
      type: 'AccessDeniedException',
      message: 'not authorized',
    });
    try {
      const outcome = await outcomeOf(locked()({ sources: [source] }, lambdaContext(30_000)));
      assert.equal(outcome.status, 'fresh');
      assert.equal(outcome.replicas?.[0]?.status, 'behind');
      assert.equal(outcome.replicas?.[0]?.code, 'STORE_FAILED');
    } finally {
      world.awsFaults.clear();
    }
    const caughtUp = await outcomeOf(locked()({ sources: [source] }, lambdaContext(30_000)));
    assert.equal(caughtUp.replicas?.[0]?.status, 'updated', 'the next run catches up');
  });

  it('a run that loses its lease after the home publish writes no copy', async () => {
    const source = await paypackSource();
    await createLockTable(world.aws.dynamodb, 'replica-fence-locks');
    const clients = awsClients(world.moto.endpoint);
    clients.ssm.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        if ((args.input as { Name?: string; Value?: string }).Name === source.parameterName)
          await takeLeaseOver(world.aws, 'replica-fence-locks', source);
        return result;
      },
      { step: 'initialize', name: 'takeLeaseOverAfterHomePublish' },
    );
    try {
      const outcome = await outcomeOf(
        world.handler({
          ...clients,
          env: {
            AWS_REGION: TEST_REGION,
            REFRESHER_PARAMETER_PREFIX: PREFIX,
            REFRESHER_REPLICA_REGIONS: JSON.stringify([REPLICA]),
            REFRESHER_LOCK_TABLE: 'replica-fence-locks',
          },
          replicaSsm: () => replicaSsm,
        })({ sources: [source], force: true }, lambdaContext(30_000)),
      );
      assert.equal(outcome.status, 'refreshed', 'the home publish happened before the lease was lost');
      assert.deepEqual(outcome.replicas, [{ region: REPLICA, status: 'behind', code: 'LOCK_LOST' }]);
      assert.equal(await readParameter(replicaSsm, source.parameterName), undefined, 'no copy written');
    } finally {
      clients.ssm.destroy();
      clients.dynamodb.destroy();
      clients.secretsManager.destroy();
    }
  });

  it('a replica region without its key ARN is reported behind; the home token is published all the same', async () => {
    await replicaSsm.send(new DeleteParameterCommand({ Name: `${PREFIX}/meta/key-arn` }));
    const source = await paypackSource();
    const outcome = await outcomeOf(handler()({ sources: [source] }, lambdaContext(30_000)));
    assert.equal(outcome.status, 'refreshed');
    assert.deepEqual(outcome.replicas, [{ region: REPLICA, status: 'behind', code: 'ReplicaKeyMissing' }]);
    assert.ok(await readParameter(world.aws.ssm, source.parameterName));
    assert.equal(await readParameter(replicaSsm, source.parameterName), undefined);
  });

  for (const [label, env, remainingMs] of [
    ['the replica timeout', { REFRESHER_REPLICA_TIMEOUT_MS: '1500' }, 30_000],
    ['the store deadline', { REFRESHER_REPLICA_TIMEOUT_MS: '60000' }, 9_000],
  ] as const) {
    it(`a stalled replica endpoint costs the home outcome no more than ${label}`, async () => {
      const stalled = await stalledEndpoint();
      const stalledSsm = new SSMClient({ endpoint: stalled.url, region: REPLICA, credentials });
      try {
        const source = await paypackSource();
        const started = Date.now();
        const storeDeadline = started + remainingMs - 1_000;
        const outcome = await outcomeOf(
          handler(env, stalledSsm)({ sources: [source] }, lambdaContext(remainingMs)),
        );
        const ended = Date.now();
        assert.equal(outcome.status, 'refreshed');
        assert.equal(outcome.replicas?.[0]?.status, 'behind');
        assert.ok(ended <= storeDeadline + 250, `ended ${ended - storeDeadline} ms after the store deadline`);
        if (label === 'the replica timeout')
          assert.ok(ended - started < 8_000, `took ${ended - started} ms with a 1.5 s replica timeout`);
        assert.ok(await readParameter(world.aws.ssm, source.parameterName), 'published at home');
      } finally {
        stalledSsm.destroy();
        await stalled.close();
      }
    });
  }

  it('a stalled replica is waited for once per container, not once per source of a batch', async () => {
    const stalled = await stalledEndpoint();
    const stalledSsm = new SSMClient({ endpoint: stalled.url, region: REPLICA, credentials, maxAttempts: 1 });
    try {
      const sources = await Promise.all(Array.from({ length: 8 }, () => paypackSource()));
      const { outcomes } = await handler({ REFRESHER_REPLICA_TIMEOUT_MS: '1500' }, stalledSsm)(
        { sources },
        lambdaContext(30_000),
      );
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        Array(8).fill('refreshed'),
      );
      const codes = outcomes.map((outcome) => outcome.replicas?.[0]?.code);
      assert.ok(
        codes.every((code) => code === 'Aborted' || code === 'Stalled'),
        codes.join(),
      );
      assert.ok(codes.filter((code) => code === 'Stalled').length >= 4, codes.join());
      // Four sources run at once: at most their four marker reads reach the stalled region.
      assert.ok(stalled.connections() <= 4, `${stalled.connections()} calls reached the stalled region`);
    } finally {
      stalledSsm.destroy();
      await stalled.close();
    }
  });

  it('a standby that no failover made active stands down: no provider call, no write', async () => {
    const source = await paypackSource();
    const calls = world.paypack.server.calls.length;
    const outcome = await outcomeOf(
      handler({ REFRESHER_REGION_ROLE: 'standby' })({ sources: [source] }, lambdaContext(30_000)),
    );
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.status === 'failed' && outcome.error.code, 'NOT_ACTIVE_REGION');
    assert.equal(world.paypack.server.calls.length, calls);
    assert.equal(await readParameter(world.aws.ssm, source.parameterName), undefined);
    assert.equal(await readParameter(replicaSsm, source.parameterName), undefined);
  });

  it('home stands down once a failover marker in any reachable region names another region', async () => {
    const source = await paypackSource();
    await outcomeOf(handler()({ sources: [source] }, lambdaContext(30_000)));
    const before = await readParameter(world.aws.ssm, source.parameterName);
    // Written in the replica region only, as when home was unreachable during the failover.
    await putString(
      replicaSsm,
      `${PREFIX}/meta/active-region`,
      JSON.stringify({ region: REPLICA, generation: 2 }),
    );
    await putString(
      world.aws.ssm,
      `${PREFIX}/meta/active-region`,
      JSON.stringify({ region: TEST_REGION, generation: 1 }),
    );
    const calls = world.paypack.server.calls.length;
    const forced = await outcomeOf(handler()({ sources: [source], force: true }, lambdaContext(30_000)));
    assert.equal(forced.status === 'failed' && forced.error.code, 'NOT_ACTIVE_REGION');
    assert.match(forced.status === 'failed' ? forced.error.message : '', /eu-west-1 is the active region/);
    assert.equal(world.paypack.server.calls.length, calls, 'no provider call');
    assert.deepEqual(await readParameter(world.aws.ssm, source.parameterName), before, 'nothing written');
  });
});

async function putString(ssm: SSMClient, name: string, value: string): Promise<void> {
  await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
}
