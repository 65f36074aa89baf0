import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { TokenReader, TokenUnavailableError } from '../../packages/client/src/get-token.ts';

const NAME = '/token-refresher/prod/tokens/paypack/cash-in';
const T0 = Date.parse('2026-12-05T12:00:00Z');

const value = (token: string, secondsLeft: number, now = T0) =>
  JSON.stringify({
    token,
    tokenType: 'Bearer',
    expiresAt: new Date(now + secondsLeft * 1000).toISOString(),
    issuedAt: new Date(now).toISOString(),
    provider: 'paypack',
    source: 'cash-in',
  });
const answer = (text: string) => ({ Parameter: { Name: NAME, Value: text } });
const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

function reader(options: ConstructorParameters<typeof TokenReader>[0] = {}) {
  const ssm = new SSMClient({ region: 'eu-west-1' });
  const mock = mockClient(ssm);
  let now = T0;
  const tokens = new TokenReader({ ssm, now: () => now, ...options });
  return {
    tokens,
    mock,
    advance: (seconds: number) => (now += seconds * 1000),
    reads: () => mock.calls().length,
  };
}

describe('TokenReader options are checked when it is made', () => {
  for (const [options, option] of [
    [{ expiryMarginSeconds: -30 }, 'expiryMarginSeconds'],
    [{ expiryMarginSeconds: Number.NaN }, 'expiryMarginSeconds'],
    [{ minimumLifetimeSeconds: -1 }, 'minimumLifetimeSeconds'],
    [{ recheckSeconds: Number.POSITIVE_INFINITY }, 'recheckSeconds'],
    [{ expiryMarginSeconds: 3, minimumLifetimeSeconds: 5 }, 'expiryMarginSeconds'],
  ] as const) {
    it(`${JSON.stringify(options)} is a RangeError naming "${option}"`, () => {
      assert.throws(
        () => new TokenReader(options),
        (error: Error) => {
          assert.ok(error instanceof RangeError);
          assert.match(error.message, new RegExp(`"${option}"`));
          return true;
        },
      );
    });
  }
});

describe('forceRefresh reads after the call', () => {
  it('does not join a read already in flight (which may return the token that just failed)', async () => {
    const { tokens, mock, reads } = reader();
    let release: (() => void) | undefined;
    mock
      .on(GetParameterCommand)
      .callsFakeOnce(
        () =>
          new Promise((resolve) => {
            release = () => resolve(answer(value('old-token', 600)));
          }),
      )
      .resolves(answer(value('new-token', 900)));
    const first = tokens.getToken(NAME);
    const forced = tokens.getToken(NAME, { forceRefresh: true });
    release?.();
    assert.equal((await first).token, 'old-token');
    assert.equal((await forced).token, 'new-token');
    assert.equal(reads(), 2);
  });
});

describe('SSM errors', () => {
  it('a cached token with its minimum lifetime is served through errors, and the reader waits recheckSeconds', async () => {
    const { tokens, mock, advance, reads } = reader();
    mock
      .on(GetParameterCommand)
      .resolvesOnce(answer(value('cached', 110)))
      .rejects(throttled());
    assert.equal((await tokens.getToken(NAME)).token, 'cached');
    advance(60); // 50 s left: inside the 60 s margin, so it is read again, and SSM throttles
    for (let call = 0; call < 5; call++) assert.equal((await tokens.getToken(NAME)).token, 'cached');
    assert.equal(reads(), 2, 'five calls inside recheckSeconds after an error cost one read');
    advance(5);
    assert.equal((await tokens.getToken(NAME)).token, 'cached');
    assert.equal(reads(), 3, 'after recheckSeconds it reads again');
  });

  it('once the cached token is too short-lived, the error a caller gets names the SSM error', async () => {
    const { tokens, mock, advance } = reader();
    mock
      .on(GetParameterCommand)
      .resolvesOnce(answer(value('cached', 30)))
      .rejects(throttled());
    await tokens.getToken(NAME);
    advance(28);
    await assert.rejects(tokens.getToken(NAME), (error: Error) => {
      assert.ok(error instanceof TokenUnavailableError);
      assert.match(error.message, /ThrottlingException/);
      return true;
    });
  });

  it('a forced read that fails does not hand back the token the caller was refused with', async () => {
    const { tokens, mock } = reader();
    mock
      .on(GetParameterCommand)
      .resolvesOnce(answer(value('refused', 600)))
      .rejects(throttled());
    await tokens.getToken(NAME);
    await assert.rejects(tokens.getToken(NAME, { forceRefresh: true }), /ThrottlingException/);
  });
});
