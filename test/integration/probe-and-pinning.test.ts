import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { RefreshRunError } from '../../lambda/handlers/create-refresh-handler.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

describe('check before publishing: the new token is tried on the provider first', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  const calls = (route: string) => world.paypack.server.callsTo(route).length;

  it('Paypack (on by default): calls GET /merchants/me with the new token, then publishes', async () => {
    const source = await world.paypackSource();
    const before = calls('merchant');
    const result = await world.handler()({ sources: [source] });
    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.deepEqual(
      world.paypack.server
        .callsTo('merchant')
        .slice(before)
        .map((call) => call.status),
      [200],
    );
  });

  it('a token refused by the probe (401) is not published: the last good token stays, and the error says so', async () => {
    const source = await world.paypackSource();
    const handler = world.handler();
    await handler({ sources: [source] });
    const lastGood = await readParameter(world.aws.ssm, source.parameterName);
    world.paypack.server.inject('merchant', { kind: 'status', status: 401, body: { message: 'no' } }, 1);
    const error = (await handler({ sources: [source], force: true }).catch((e) => e)) as RefreshRunError;
    const outcome = error.outcomes?.[0];
    assert.ok(outcome?.status === 'failed');
    assert.equal(outcome.error.code, 'PROVIDER_TOKEN_REJECTED');
    assert.match(
      outcome.error.message,
      /refused the new token at its probe \(HTTP 401\); it was not published/,
    );
    assert.deepEqual(await readParameter(world.aws.ssm, source.parameterName), lastGood);
  });

  it('a probe that cannot be completed (503, dropped connection) is logged and does not block publishing', async () => {
    for (const fault of [{ kind: 'status', status: 503 } as const, { kind: 'drop' } as const]) {
      const source = await world.paypackSource();
      world.paypack.server.inject('merchant', fault, 1);
      const result = await world.handler()({ sources: [source] });
      assert.equal(result.outcomes[0]?.status, 'refreshed');
      assert.ok(
        world.capture
          .jsonLines()
          .some((line) => line.message === 'token probe inconclusive; publishing anyway'),
      );
    }
  });

  it('"probe": false turns it off; Papaya has none unless its options name a path', async () => {
    const before = calls('merchant');
    await world.handler()({ sources: [await world.paypackSource({ probe: false })] });
    assert.equal(calls('merchant'), before);

    const walletsBefore = world.papaya.server.callsTo('wallets').length;
    await world.handler()({ sources: [await world.papayaSource()] });
    assert.equal(world.papaya.server.callsTo('wallets').length, walletsBefore);
    const probed = await world.papayaSource({ options: { probePath: '/payments/wallets?take=1' } });
    await world.handler()({ sources: [probed] });
    assert.deepEqual(
      world.papaya.server
        .callsTo('wallets')
        .slice(walletsBefore)
        .map((call) => call.status),
      [200],
    );
  });
});

describe('an invocation event cannot change what the deployment pinned', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  /** The handler as the construct configures it: each source's own profile pinned under its id. */
  function pinnedHandler(pinned: SourceDefinition[]) {
    const profiles = pinned.map(({ refreshThresholdSeconds, options, http, probe }) => ({
      refreshThresholdSeconds,
      options,
      http,
      probe,
    }));
    const bySource = Object.fromEntries(pinned.map((source, index) => [source.id, index]));
    return world.handler({ env: { REFRESHER_PINNED_PROFILES: JSON.stringify({ profiles, bySource }) } });
  }

  it('accepts the definition the schedule carries, and rejects longer tokens, renamed tokens, stretched http and thresholds', async () => {
    const source = await world.papayaSource({
      refreshThresholdSeconds: 3600,
      options: { expirationSeconds: 7200 },
    });
    const handler = pinnedHandler([source]);
    assert.equal((await handler({ sources: [source] })).outcomes[0]?.status, 'refreshed');

    const tokenCalls = world.papaya.server.callsTo('token').length;
    for (const hostile of [
      { ...source, options: { expirationSeconds: 604_800 } },
      { ...source, options: { expirationSeconds: 7200, tokenName: 'attacker' } },
      { ...source, http: { maxAttempts: 10, timeoutMs: 60_000, maxResponseBytes: 1_048_576 } },
      { ...source, refreshThresholdSeconds: 7000 },
      { ...source, probe: false },
    ]) {
      await assert.rejects(handler({ sources: [hostile], force: true }), (error: Error) => {
        assert.equal(error.name, 'ConfigError');
        assert.match(error.message, /must be as this deployment defined them for this source/);
        return true;
      });
    }
    assert.equal(world.papaya.server.callsTo('token').length, tokenCalls, 'no provider call was made');
  });

  it("refuses a source carrying another source's profile (payroll's 7 days and token name for hr) before its secret is read", async () => {
    const payroll = await world.papayaSource({
      refreshThresholdSeconds: 86_400,
      options: { expirationSeconds: 604_800, tokenName: 'payroll-token' },
    });
    const hr = await world.papayaSource({
      refreshThresholdSeconds: 1800,
      options: { expirationSeconds: 3600 },
    });
    const handler = pinnedHandler([payroll, hr]);
    const borrowed = {
      ...hr,
      options: payroll.options,
      refreshThresholdSeconds: payroll.refreshThresholdSeconds,
    };
    const secretReads = world.awsFaults.calls.get('GetSecretValue') ?? 0;
    const tokenCalls = world.papaya.server.callsTo('token').length;
    await assert.rejects(handler({ sources: [borrowed], force: true }), (error: Error) => {
      assert.equal(error.name, 'ConfigError');
      assert.match(error.message, new RegExp(`source "${hr.id}".*for this source`));
      return true;
    });
    const unknown = { ...hr, id: 'not-pinned' };
    await assert.rejects(handler({ sources: [unknown], force: true }), /not a source this deployment pinned/);
    assert.equal(world.awsFaults.calls.get('GetSecretValue') ?? 0, secretReads, 'no secret was read');
    assert.equal(world.papaya.server.callsTo('token').length, tokenCalls, 'no provider call was made');
    assert.equal(
      (await handler({ sources: [hr] })).outcomes[0]?.status,
      'refreshed',
      'its own profile passes',
    );
  });
});
