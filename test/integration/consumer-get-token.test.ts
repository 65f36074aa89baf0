import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { serializePublishedToken } from '../../lambda/token-contract.ts';
import { TokenReader, TokenUnavailableError } from '../../packages/client/src/get-token.ts';
import { World } from '../support/world.ts';

const START = Date.parse('2026-11-21T12:00:00Z');

describe('consumer helper getToken against moto', () => {
  let world: World;
  let reads = 0;
  before(async () => {
    world = await World.start();
    world.aws.ssm.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetParameterCommand') reads += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countReads' },
    );
  });
  after(async () => {
    await world.stop();
  });

  async function publish(name: string, token: string, expiresAt: number) {
    const value = serializePublishedToken({
      token,
      tokenType: 'Bearer',
      expiresAt: new Date(expiresAt).toISOString(),
      issuedAt: new Date(expiresAt - 900_000).toISOString(),
      provider: 'paypack',
      source: 'cash-in',
    });
    await world.aws.ssm.send(
      new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true }),
    );
  }

  function reader() {
    let now = START;
    const tokenReader = new TokenReader({ ssm: world.aws.ssm, now: () => now });
    return { tokenReader, advance: (seconds: number) => (now += seconds * 1000) };
  }

  it('serves from cache until shortly before expiry, then reads the successor', async () => {
    const name = '/consumer/cache';
    await publish(name, 'token-a', START + 900_000);
    const { tokenReader, advance } = reader();
    reads = 0;

    for (let second = 0; second < 835; second += 5) {
      assert.equal((await tokenReader.getToken(name)).token, 'token-a');
      advance(5);
    }
    assert.equal(reads, 1, 'one SSM read for 167 calls over 14 minutes');

    await publish(name, 'token-b', START + 1_800_000);
    advance(10); // 845 s: inside the 60 s margin of token-a
    assert.equal((await tokenReader.getToken(name)).token, 'token-b');
    assert.equal(reads, 2);
  });

  it('re-reads once when asked, after the provider rejected the cached token', async () => {
    const name = '/consumer/force';
    await publish(name, 'token-old', START + 900_000);
    const { tokenReader } = reader();
    await tokenReader.getToken(name);
    await publish(name, 'token-rotated', START + 900_000);
    assert.equal((await tokenReader.getToken(name)).token, 'token-old', 'cache still valid');
    reads = 0;
    assert.equal((await tokenReader.getToken(name, { forceRefresh: true })).token, 'token-rotated');
    assert.equal(reads, 1);
    assert.equal((await tokenReader.getToken(name)).token, 'token-rotated', 'the re-read value is cached');
    assert.equal(reads, 1);
  });

  it('never returns an expired token, and says why', async () => {
    const name = '/consumer/expired';
    await publish(name, 'token-stale', START + 30_000);
    const { tokenReader, advance } = reader();
    assert.equal(
      (await tokenReader.getToken(name)).token,
      'token-stale',
      '30 s left is still usable, but not cached',
    );
    advance(27);
    await assert.rejects(tokenReader.getToken(name), (error: unknown) => {
      assert.ok(error instanceof TokenUnavailableError);
      assert.match(
        error.message,
        /no usable token in \/consumer\/expired: the token expired or expires within seconds/,
      );
      assert.doesNotMatch(error.message, /token-stale/);
      return true;
    });
  });

  it('while the refresher is late, reads at most every 5 s, never serves the expired token, and finds the successor', async () => {
    const name = '/consumer/late';
    await publish(name, 'token-late', START + 30_000);
    const { tokenReader, advance } = reader();
    reads = 0;
    const served: string[] = [];
    for (let second = 0; second < 60; second++) {
      try {
        served.push((await tokenReader.getToken(name)).token);
      } catch (error) {
        assert.ok(error instanceof TokenUnavailableError);
        served.push('unavailable');
      }
      advance(1);
    }
    assert.equal(reads, 12, 'one read every 5 s, not one per call');
    assert.deepEqual(served.slice(0, 25), Array(25).fill('token-late'), 'usable until 5 s before expiry');
    assert.deepEqual(served.slice(25), Array(35).fill('unavailable'), 'then refused, from the last read');

    await publish(name, 'token-next', START + 960_000);
    advance(2);
    assert.equal((await tokenReader.getToken(name)).token, 'token-next');
    assert.equal(reads, 13);
  });

  it('shares one read among concurrent callers', async () => {
    const name = '/consumer/concurrent';
    await publish(name, 'token-c', START + 900_000);
    const { tokenReader } = reader();
    reads = 0;
    const tokens = await Promise.all(Array.from({ length: 25 }, () => tokenReader.getToken(name)));
    assert.ok(tokens.every((token) => token.token === 'token-c'));
    assert.equal(reads, 1);
  });

  it('explains a missing parameter', async () => {
    const { tokenReader } = reader();
    await assert.rejects(tokenReader.getToken('/consumer/missing'), /the parameter does not exist yet/);
  });
});
