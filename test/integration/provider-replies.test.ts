import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import type { Fault } from '../sandboxes/sandbox-server.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

interface ReplyCase {
  name: string;
  provider: 'paypack' | 'papaya';
  route: string;
  fault: Fault;
  code: string;
  message: RegExp;
  /** Requests the route should have seen: 1 for "failed fast", the retry budget for "retried". */
  attempts: number;
}

const FAST_HTTP = { timeoutMs: 400, maxAttempts: 3 };
const nowSeconds = () => Math.floor(Date.now() / 1000);
const fakeJwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

const cases: ReplyCase[] = [
  {
    name: '400',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'status', status: 400, body: { status: 400, message: 'bad request' } },
    code: 'PROVIDER_CLIENT_ERROR',
    message: /paypack authorize answered HTTP 400: "bad request"$/,
    attempts: 1,
  },
  {
    name: '401',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'status', status: 401, body: { status: 401, message: 'invalid client credentials' } },
    code: 'PROVIDER_AUTH_REJECTED',
    message: /answered HTTP 401: "invalid client credentials"$/,
    attempts: 1,
  },
  {
    name: '403',
    provider: 'papaya',
    route: 'token',
    fault: { kind: 'status', status: 403, body: { error: 'Forbidden' } },
    code: 'PROVIDER_AUTH_REJECTED',
    message: /papaya token answered HTTP 403: "Forbidden"$/,
    attempts: 1,
  },
  {
    name: '429 without Retry-After',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'status', status: 429 },
    code: 'PROVIDER_RATE_LIMITED',
    message: /answered HTTP 429.* after 3 attempts$/,
    attempts: 3,
  },
  {
    name: '429 with Retry-After',
    provider: 'papaya',
    route: 'token',
    fault: { kind: 'status', status: 429, headers: { 'Retry-After': '0' } },
    code: 'PROVIDER_RATE_LIMITED',
    message: /after 3 attempts$/,
    attempts: 3,
  },
  {
    name: '500',
    provider: 'papaya',
    route: 'token',
    fault: { kind: 'status', status: 500 },
    code: 'PROVIDER_SERVER_ERROR',
    message: /answered HTTP 500/,
    attempts: 3,
  },
  {
    name: '502 HTML page',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'html', status: 502 },
    code: 'PROVIDER_SERVER_ERROR',
    message: /answered HTTP 502 after 3 attempts$/,
    attempts: 3,
  },
  {
    name: 'connection dropped',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'drop' },
    code: 'PROVIDER_UNREACHABLE',
    message: /network error \(.+\) after 3 attempts$/,
    attempts: 3,
  },
  {
    name: 'reset mid-body',
    provider: 'papaya',
    route: 'token',
    fault: { kind: 'reset-mid-body' },
    code: 'PROVIDER_UNREACHABLE',
    message: /network error/,
    attempts: 3,
  },
  {
    name: 'hang past the timeout',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'hang' },
    code: 'PROVIDER_TIMEOUT',
    message: /no complete answer within 400 ms after 3 attempts$/,
    attempts: 3,
  },
  {
    name: 'slow drip',
    provider: 'papaya',
    route: 'token',
    fault: { kind: 'drip', intervalMs: 50 },
    code: 'PROVIDER_TIMEOUT',
    message: /no complete answer within 400 ms/,
    attempts: 3,
  },
  {
    name: 'malformed JSON',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'malformed' },
    code: 'PROVIDER_BAD_RESPONSE',
    message: /not valid JSON/,
    attempts: 1,
  },
  {
    name: 'HTML with 200',
    provider: 'papaya',
    route: 'token',
    fault: { kind: 'html' },
    code: 'PROVIDER_BAD_RESPONSE',
    message: /HTML page instead of JSON/,
    attempts: 1,
  },
  {
    name: 'empty body',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'empty' },
    code: 'PROVIDER_BAD_RESPONSE',
    message: /empty body/,
    attempts: 1,
  },
  {
    name: 'missing fields',
    provider: 'paypack',
    route: 'authorize',
    fault: { kind: 'body', body: { access: fakeJwt({ exp: nowSeconds() + 900 }) } },
    code: 'PROVIDER_BAD_RESPONSE',
    message: /field "refresh": .*field "expires"/,
    attempts: 1,
  },
  {
    name: 'wrong field types',
    provider: 'papaya',
    route: 'token',
    fault: { kind: 'body', body: { token: 42, valid_until: true } },
    code: 'PROVIDER_BAD_RESPONSE',
    message: /field "token": expected string/,
    attempts: 1,
  },
  {
    name: 'expiry in the past',
    provider: 'paypack',
    route: 'authorize',
    fault: {
      kind: 'body',
      body: { access: fakeJwt({ exp: nowSeconds() - 10 }), refresh: 'r-1234567', expires: nowSeconds() - 10 },
    },
    code: 'PROVIDER_INVALID_TOKEN',
    message: /is in the past/,
    attempts: 1,
  },
  {
    name: 'expiry absurdly far',
    provider: 'papaya',
    route: 'token',
    fault: {
      kind: 'body',
      body: { token: fakeJwt({ exp: nowSeconds() + 10 * 365 * 86_400 }), valid_until: '2099-01-01T00:00Z' },
    },
    code: 'PROVIDER_INVALID_TOKEN',
    message: /implausibly far/,
    attempts: 1,
  },
  {
    name: 'token is not a JWT',
    provider: 'paypack',
    route: 'authorize',
    fault: {
      kind: 'body',
      body: { access: 'not-a-jwt-at-all', refresh: 'r-1234567', expires: nowSeconds() + 900 },
    },
    code: 'PROVIDER_INVALID_TOKEN',
    message: /not a JWT/,
    attempts: 1,
  },
  {
    name: 'oversized body',
    provider: 'papaya',
    route: 'token',
    fault: { kind: 'oversized', bytes: 200_000 },
    code: 'PROVIDER_BAD_RESPONSE',
    message: /exceeds 65536 bytes/,
    attempts: 1,
  },
];

describe('each bad provider reply gives its own clear error and keeps the last good token', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    const leaks = world.leaks();
    await world.stop();
    assert.deepEqual(leaks, []);
  });
  beforeEach(() => {
    world.paypack.server.clearFaults();
    world.papaya.server.clearFaults();
  });

  for (const testCase of cases) {
    it(`${testCase.provider} ${testCase.route}: ${testCase.name}`, async () => {
      world.paypack.setRefreshPaths([]);
      const source =
        testCase.provider === 'paypack'
          ? await world.paypackSource({ http: FAST_HTTP })
          : await world.papayaSource({ http: FAST_HTTP });
      const handler = world.handler();
      await handler({ sources: [source] });
      const good = await readParameter(world.aws.ssm, source.parameterName);
      const sandbox = testCase.provider === 'paypack' ? world.paypack.server : world.papaya.server;
      sandbox.inject(testCase.route, testCase.fault);
      const callsBefore = sandbox.callsTo(testCase.route).length;

      const error = (await handler({ sources: [source], force: true }).then(
        () => assert.fail('the invocation must fail'),
        (thrown) => thrown,
      )) as Error & { outcomes: SourceOutcome[] };
      world.capture.record(error);
      const outcome = error.outcomes[0];
      world.capture.record(outcome);

      assert.equal(outcome?.status, 'failed');
      assert.ok(outcome?.status === 'failed');
      assert.equal(outcome.error.code, testCase.code);
      assert.match(outcome.error.message, new RegExp(`^source "${source.id}": `));
      assert.match(outcome.error.message, testCase.message);
      assert.equal(sandbox.callsTo(testCase.route).length - callsBefore, testCase.attempts, 'attempts made');
      assert.deepEqual(
        await readParameter(world.aws.ssm, source.parameterName),
        good,
        'last good token untouched',
      );
      assert.equal(
        outcome.expiresAt,
        JSON.parse(good?.value ?? '{}').expiresAt,
        'reports the last good expiry',
      );
    });
  }
});
