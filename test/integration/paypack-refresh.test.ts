import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

/** A clock that tests move forward, shared by the refresher and the sandbox. */
function steerableClock() {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (seconds: number) => {
      offset += seconds * 1000;
    },
  };
}

describe('Paypack refresh cycle against the sandbox and moto', () => {
  const clock = steerableClock();
  let world: World;
  before(async () => {
    world = await World.start({ paypack: { now: clock.now } });
  });
  after(async () => {
    await world.stop();
  });
  beforeEach(() => {
    world.paypack.server.clearFaults();
    world.paypack.setRefreshPaths(['sdk']);
  });

  it('does nothing while the published token has more life than the threshold', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    const before = await readParameter(world.aws.ssm, source.parameterName);
    const callsBefore = world.paypack.server.calls.length;

    clock.advance(200); // 700 s left, threshold 600
    const result = await handler({ sources: [source] });

    assert.equal(result.outcomes[0]?.status, 'fresh');
    assert.equal(world.paypack.server.calls.length, callsBefore, 'no provider call');
    assert.equal((await readParameter(world.aws.ssm, source.parameterName))?.version, before?.version);
  });

  it('refreshes on the SDK path once under the threshold, spending the refresh token once', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    const first = parsePublishedToken(
      (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
    );

    clock.advance(400); // 500 s left < 600
    const result = await handler({ sources: [source] });
    const second = parsePublishedToken(
      (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
    );

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.notEqual(second?.token, first?.token);
    assert.equal(world.paypack.server.callsTo('refresh-sdk').at(-1)?.status, 200);
    assert.ok(second && Date.parse(second.expiresAt) > Date.parse(first?.expiresAt ?? ''));
    assert.deepEqual(world.paypack.reusedRefreshTokens, []);
  });

  it('never presents a refresh token twice over many cycles', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    const refreshCallsBefore = world.paypack.server.callsTo('refresh-sdk').length;
    for (let cycle = 0; cycle < 6; cycle++) {
      await handler({ sources: [source], force: true });
    }
    assert.equal(world.paypack.server.callsTo('refresh-sdk').length - refreshCallsBefore, 5);
    assert.deepEqual(world.paypack.reusedRefreshTokens, []);
  });

  it('falls back to the docs path when the SDK path answers 404, and remembers it', async () => {
    world.paypack.setRefreshPaths(['docs']);
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    const sdkBefore = world.paypack.server.callsTo('refresh-sdk').length;
    const docsBefore = world.paypack.server.callsTo('refresh-docs').length;

    await handler({ sources: [source], force: true });
    await handler({ sources: [source], force: true });

    assert.equal(
      world.paypack.server.callsTo('refresh-sdk').length - sdkBefore,
      1,
      'SDK path tried once, then skipped',
    );
    const docsCalls = world.paypack.server.callsTo('refresh-docs').slice(docsBefore);
    assert.deepEqual(
      docsCalls.map((call) => call.status),
      [200, 200],
    );
  });

  it('authorizes when neither refresh path exists', async () => {
    world.paypack.setRefreshPaths([]);
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    const authorizeBefore = world.paypack.server.callsTo('authorize').length;

    const sdkBefore = world.paypack.server.callsTo('refresh-sdk').length;
    const docsBefore = world.paypack.server.callsTo('refresh-docs').length;
    const result = await handler({ sources: [source], force: true });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.equal(world.paypack.server.callsTo('authorize').length - authorizeBefore, 1);
    assert.deepEqual(
      world.paypack.server
        .callsTo('refresh-sdk')
        .slice(sdkBefore)
        .map((call) => call.status),
      [404],
    );
    assert.deepEqual(
      world.paypack.server
        .callsTo('refresh-docs')
        .slice(docsBefore)
        .map((call) => call.status),
      [404],
    );
  });

  it('authorizes when the refresh token is refused, without retrying the refresh', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    world.paypack.server.inject(
      'refresh-sdk',
      { kind: 'status', status: 401, body: { status: 401, message: 'expired' } },
      1,
    );
    const refreshBefore = world.paypack.server.callsTo('refresh-sdk').length;
    const authorizeBefore = world.paypack.server.callsTo('authorize').length;

    const result = await handler({ sources: [source], force: true });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.equal(world.paypack.server.callsTo('refresh-sdk').length - refreshBefore, 1);
    assert.equal(world.paypack.server.callsTo('authorize').length - authorizeBefore, 1);
  });

  it('authorizes when the stored refresh token has expired, without presenting it', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    clock.advance(432_000 + 60);
    const refreshBefore = world.paypack.server.callsTo('refresh-sdk').length;

    const result = await handler({ sources: [source] });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.equal(world.paypack.server.callsTo('refresh-sdk').length, refreshBefore);
  });

  it('keeps the last good token when the provider fails, and reports it as failed', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    const good = await readParameter(world.aws.ssm, source.parameterName);
    world.paypack.server.inject('refresh-sdk', { kind: 'status', status: 503 });
    world.paypack.server.inject('authorize', { kind: 'status', status: 503 });

    const error = await handler({ sources: [source], force: true }).then(
      () => assert.fail('the invocation must fail'),
      (thrown: Error & { outcomes?: unknown[] }) => thrown,
    );
    world.capture.record(error);

    assert.match(
      error.message,
      new RegExp(`1 of 1 sources failed: ${source.id} \\(PROVIDER_SERVER_ERROR\\)`),
    );
    assert.deepEqual(await readParameter(world.aws.ssm, source.parameterName), good);
    const privateState = await readParameter(world.aws.ssm, source.privateParameterName ?? '');
    assert.equal(privateState?.value, '{"refresh":null}', 'the presented refresh token is recorded as spent');
  });

  it('retries authorize on 503 and succeeds when the provider recovers', async () => {
    const source = await world.paypackSource();
    world.paypack.server.inject('authorize', { kind: 'status', status: 503 }, 2);
    const before = world.paypack.server.callsTo('authorize').length;

    const result = await world.handler({ clock: clock.now })({ sources: [source] });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.deepEqual(
      world.paypack.server
        .callsTo('authorize')
        .slice(before)
        .map((call) => call.status),
      [503, 503, 200],
    );
  });

  it('never presents a refresh token again after a refresh that may have spent it failed', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    // The server spends the refresh token, then the connection drops; authorize is down too.
    world.paypack.server.inject('refresh-sdk', { kind: 'handle-then-drop' }, 1);
    world.paypack.server.inject('authorize', { kind: 'status', status: 503 }, 3);
    await assert.rejects(handler({ sources: [source], force: true }), /PROVIDER_SERVER_ERROR/);
    const refreshCalls = world.paypack.server.callsTo('refresh-sdk').length;

    const result = await handler({ sources: [source], force: true });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.equal(
      world.paypack.server.callsTo('refresh-sdk').length,
      refreshCalls,
      'the spent token is not presented',
    );
    assert.deepEqual(world.paypack.reusedRefreshTokens, []);
  });

  it('after a credential rotation, retries with the new secret without presenting the refresh token again', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    await world.rotateClientSecret(source);
    world.paypack.server.inject(
      'refresh-sdk',
      { kind: 'status', status: 401, body: { status: 401, message: 'expired' } },
      1,
    );
    const refreshBefore = world.paypack.server.callsTo('refresh-sdk').length;
    const authorizeBefore = world.paypack.server.callsTo('authorize').length;

    const result = await handler({ sources: [source], force: true });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.equal(
      world.paypack.server.callsTo('refresh-sdk').length - refreshBefore,
      1,
      'refresh token presented once',
    );
    assert.deepEqual(
      world.paypack.server
        .callsTo('authorize')
        .slice(authorizeBefore)
        .map((call) => call.status),
      [401, 200],
    );
  });

  it('publishes the new token even when storing the new refresh token fails; the old one was marked spent before it left', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    const denied = { kind: 'error', status: 400, type: 'AccessDeniedException', message: 'denied' } as const;
    // Write 1 is the write-ahead "spent" marker; write 2, the new refresh token, fails.
    world.awsFaults.inject('PutParameter', denied, 1, 1);

    const result = await handler({ sources: [source], force: true });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    const published = parsePublishedToken(
      (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
    );
    assert.ok(published && (await world.paypack.isLive(published.token)));
    assert.equal(
      (await readParameter(world.aws.ssm, source.privateParameterName ?? ''))?.value,
      '{"refresh":null}',
    );
    const next = await handler({ sources: [source], force: true });
    assert.equal(next.outcomes[0]?.status, 'refreshed');
    assert.deepEqual(
      world.paypack.reusedRefreshTokens,
      [],
      'the spent refresh token was not presented again',
    );
  });

  it('does not present the refresh token when it cannot first be marked spent: it authorizes instead', async () => {
    const source = await world.paypackSource();
    const handler = world.handler({ clock: clock.now });
    await handler({ sources: [source] });
    const refreshBefore = world.paypack.server.callsTo('refresh-sdk').length;
    const authorizeBefore = world.paypack.server.callsTo('authorize').length;
    world.awsFaults.inject(
      'PutParameter',
      { kind: 'error', status: 400, type: 'AccessDeniedException', message: 'denied' },
      1,
    );

    const result = await handler({ sources: [source], force: true });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.equal(world.paypack.server.callsTo('refresh-sdk').length - refreshBefore, 0, 'never presented');
    assert.equal(world.paypack.server.callsTo('authorize').length - authorizeBefore, 1);
    assert.deepEqual(world.paypack.reusedRefreshTokens, []);
  });
});
