import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderError } from '../../lambda/errors.ts';
import { jwtExpiry, settleExpiry, type TokenFormat } from '../../lambda/providers/token-checks.ts';
import { Redactor } from '../../lambda/redact.ts';
import { parsePublishedToken, serializePublishedToken } from '../../lambda/token-contract.ts';
import { findLeaks } from '../support/capture.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const rawJwt = (payload: string) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(payload).toString('base64url')}.c2ln`;
const jwt = (claims: Record<string, unknown>) => rawJwt(JSON.stringify(claims));

function settle(
  token: string,
  reportedExpiresAt: Date | undefined,
  maxLifetimeSeconds = 86_400,
  tokenFormat: TokenFormat = 'jwt',
) {
  const notes: string[] = [];
  const result = settleExpiry({
    sourceId: 's',
    provider: 'p',
    token,
    tokenFormat,
    reportedExpiresAt,
    now: NOW,
    maxLifetimeSeconds,
    note: (message) => notes.push(message),
  });
  return { ...result, notes };
}

describe('settleExpiry', () => {
  it('uses the earlier of the reported expiry and the JWT exp', () => {
    const exp = NOW / 1000 + 900;
    assert.equal(
      settle(jwt({ exp }), new Date(NOW + 840_000)).expiresAt.toISOString(),
      '2026-11-21T12:14:00.000Z',
    );
    assert.equal(
      settle(jwt({ exp }), new Date(NOW + 1_800_000)).expiresAt.toISOString(),
      '2026-11-21T12:15:00.000Z',
    );
  });

  it('notes a disagreement of a minute or more', () => {
    const exp = NOW / 1000 + 900;
    assert.deepEqual(settle(jwt({ exp }), new Date(NOW + 900_000)).notes, []);
    assert.equal(settle(jwt({ exp }), new Date(NOW + 5_000_000)).notes.length, 1);
  });

  it('takes issuedAt from iat, or from now when iat is missing or in the future', () => {
    const exp = NOW / 1000 + 900;
    assert.equal(settle(jwt({ exp, iat: NOW / 1000 - 5 }), undefined).issuedAt.getTime(), NOW - 5000);
    assert.equal(settle(jwt({ exp }), undefined).issuedAt.getTime(), NOW);
    assert.equal(settle(jwt({ exp, iat: NOW / 1000 + 3600 }), undefined).issuedAt.getTime(), NOW);
  });

  const rejects: [string, () => unknown, RegExp][] = [
    ['a token that is not a JWT', () => settle('opaque-token', new Date(NOW + 900_000)), /not a JWT/],
    ['no expiry at all', () => settle(jwt({ sub: 'x' }), undefined), /has no expiry/],
    ['an expiry in the past', () => settle(jwt({ exp: NOW / 1000 - 1 }), undefined), /in the past/],
    [
      'an expiry under 30 s away',
      () => settle(jwt({ exp: NOW / 1000 + 29 }), undefined),
      /in the past or under 30 s/,
    ],
    [
      'an implausibly far expiry',
      () => settle(jwt({ exp: NOW / 1000 + 86_401 }), undefined),
      /implausibly far/,
    ],
    // 1e400 parses to Infinity; unchecked it becomes an Invalid Date that passes every range check.
    ['an exp of 1e400', () => settle(rawJwt('{"exp":1e400}'), undefined), /"exp" claim .* not a usable/],
    [
      'an exp of 1e400 even when the reported expiry is fine',
      () => settle(rawJwt('{"exp":1e400}'), new Date(NOW + 900_000)),
      /"exp" claim/,
    ],
    ['an exp of -1e400', () => settle(rawJwt('{"exp":-1e400}'), new Date(NOW + 900_000)), /"exp" claim/],
    ['an exp beyond the Date range', () => settle(jwt({ exp: 9e15 }), new Date(NOW + 900_000)), /"exp"/],
    [
      'an iat of -1e400',
      () => settle(rawJwt(`{"exp":${NOW / 1000 + 900},"iat":-1e400}`), undefined),
      /"iat" claim/,
    ],
    ['an exp that is a string', () => settle(jwt({ exp: '1800000000' }), undefined), /"exp" claim/],
    ['an invalid reported expiry', () => settle(jwt({ sub: 'x' }), new Date(Number.NaN)), /invalid expiry/],
    [
      'an opaque token when the provider promises JWTs',
      () => settle('opaque', new Date(NOW + 900_000), 86_400, 'jwt'),
      /not a JWT/,
    ],
    [
      'an opaque token without a reported expiry',
      () => settle('opaque', undefined, 86_400, 'opaque-or-jwt'),
      /has no expiry/,
    ],
  ];
  for (const [name, run, message] of rejects) {
    it(`rejects ${name}`, () => {
      assert.throws(
        run,
        (error: unknown) =>
          error instanceof ProviderError &&
          error.code === 'PROVIDER_INVALID_TOKEN' &&
          message.test(error.message),
      );
    });
  }
});

describe('settleExpiry for providers whose tokens may be opaque', () => {
  it("takes an opaque token's expiry from the response and its issue time from now", () => {
    const settled = settle('opaque.token-value', new Date(NOW + 300_000), 86_400, 'opaque-or-jwt');
    assert.equal(settled.expiresAt.getTime(), NOW + 300_000);
    assert.equal(settled.issuedAt.getTime(), NOW);
  });

  it("still cross-checks a JWT's exp, the earlier winning", () => {
    const exp = NOW / 1000 + 120;
    const settled = settle(jwt({ exp }), new Date(NOW + 300_000), 86_400, 'opaque-or-jwt');
    assert.equal(settled.expiresAt.getTime(), NOW + 120_000);
  });
});

describe('jwtExpiry', () => {
  it('ignores an exp that is not a finite number of seconds', () => {
    assert.equal(jwtExpiry(rawJwt('{"exp":1e400}')), undefined);
    assert.equal(jwtExpiry(jwt({ exp: 9e15 })), undefined);
    assert.equal(jwtExpiry(jwt({ exp: 1_800_000_000 }))?.getTime(), 1_800_000_000_000);
  });
});

describe('Redactor', () => {
  it('removes registered values, longest first, and anything shaped like a JWT', () => {
    const redactor = new Redactor();
    redactor.add('secret', 'secret-longer', undefined, 'ab');
    assert.equal(
      redactor.scrub('secret-longer secret ab eyJhbGciOi.eyJzdWIiOi.sig'),
      '[REDACTED] [REDACTED] ab [REDACTED-JWT]',
    );
  });
});

describe('leak detector', () => {
  it('finds a sensitive value anywhere in captured text, and reports it without repeating it', () => {
    const leaked = findLeaks('{"message":"token eyJabc.def.ghi issued"}', ['eyJabc.def.ghi', 'never-logged']);
    assert.deepEqual(leaked, ['eyJa… (14 chars)']);
  });
});

describe('published token contract', () => {
  it('round-trips and rejects values that are not in the format', () => {
    const value = {
      token: 'eyJ.a.b',
      tokenType: 'Bearer' as const,
      expiresAt: '2026-11-21T12:15:00.000Z',
      issuedAt: '2026-11-21T12:00:00.000Z',
      provider: 'paypack',
      source: 'cash-in',
    };
    assert.deepEqual(parsePublishedToken(serializePublishedToken(value)), value);
    assert.equal(parsePublishedToken('not json'), undefined);
    assert.equal(parsePublishedToken(JSON.stringify({ ...value, tokenType: 'MAC' })), undefined);
    assert.equal(parsePublishedToken(JSON.stringify({ ...value, expiresAt: 'tomorrow' })), undefined);
  });
});
