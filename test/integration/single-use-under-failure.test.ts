import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { readParameter } from '../support/aws.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { World } from '../support/world.ts';

/** Refresh tokens the sandbox saw more than once since `from`. */
function presentedTwice(world: World, from: number): string[] {
  const presented = world.paypack.presentedRefreshTokens.slice(from);
  return presented.filter((token, index) => presented.indexOf(token) !== index);
}

describe('a refresh token is presented at most once, whatever happens after it leaves', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    world.paypack.onRefreshSpent = undefined;
    await world.stop();
  });

  it('a run SIGKILLed after the provider spent its refresh token, before it stored anything: the next run does not present it again', async () => {
    const source = await world.paypackSource();
    await world.handler()({ sources: [source] });
    const from = world.paypack.presentedRefreshTokens.length;

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/refresh-child.ts'], {
      env: {
        ...process.env,
        REFRESH_CHILD_ENDPOINT: world.moto.endpoint,
        REFRESH_CHILD_SOURCES: JSON.stringify([source]),
      },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const ended = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // The provider has spent the token; its answer (the successor) never reaches the run.
    world.paypack.onRefreshSpent = () => {
      world.paypack.onRefreshSpent = undefined;
      child.kill('SIGKILL');
    };
    assert.equal(await ended, 'SIGKILL');
    assert.equal(world.paypack.presentedRefreshTokens.length - from, 1, 'the killed run presented it once');

    const next = await world.handler()({ sources: [source], force: true });
    assert.equal(next.outcomes[0]?.status, 'refreshed');
    assert.deepEqual(presentedTwice(world, from), []);
    assert.deepEqual(world.paypack.reusedRefreshTokens, []);
  });

  it('10 sources at 1 SSM write/s with 8 s left: the pacer refuses writes, and still no token is presented twice', async () => {
    const sources = await Promise.all(Array.from({ length: 10 }, () => world.paypackSource()));
    await world.handler()({ sources });
    const from = world.paypack.presentedRefreshTokens.length;
    const privateState = async (source: (typeof sources)[number]) =>
      JSON.parse((await readParameter(world.aws.ssm, source.privateParameterName ?? ''))?.value ?? '{}') as {
        refresh: string | null;
      };
    const storedBefore = await Promise.all(
      sources.map(async (source) => (await privateState(source)).refresh),
    );
    const paced = world.handler({ env: { REFRESHER_SSM_WRITES_PER_SECOND: '1' } });

    const first = await paced({ sources, force: true }, lambdaContext(8_000)).catch(
      (error: { outcomes?: { status: string }[] }) => error,
    );
    // A write-ahead marker is written only when the presentation fits: none marks a token it never sent.
    const presentedNow = new Set(world.paypack.presentedRefreshTokens.slice(from));
    const markedButNotPresented = (
      await Promise.all(sources.map(async (source) => (await privateState(source)).refresh))
    ).filter((refresh, index) => refresh === null && !presentedNow.has(storedBefore[index] ?? ''));
    assert.deepEqual(markedButNotPresented, [], 'no refresh token was marked spent without being presented');
    const failed = (first as { outcomes?: { status: string }[] }).outcomes?.filter(
      (o) => o.status === 'failed',
    );
    assert.ok((failed?.length ?? 0) > 0, 'the budget really was too short for every write');

    const second = await world.handler()({ sources, force: true });
    assert.ok(second.outcomes.every((outcome) => outcome.status === 'refreshed'));
    assert.deepEqual(presentedTwice(world, from), []);
    assert.deepEqual(world.paypack.reusedRefreshTokens, []);
    console.info(
      `pacing: ${failed?.length} of 10 sources could not finish within 8 s at 1 write/s; ${world.paypack.presentedRefreshTokens.length - from} refresh tokens presented, none twice`,
    );
  });
});
