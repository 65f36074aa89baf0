import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as v from 'valibot';
import { resolveSource } from '../../lambda/config/source-config.ts';
import { ConfigError, ProviderError } from '../../lambda/errors.ts';
import { ProviderHttpClient } from '../../lambda/http/provider-http-client.ts';
import { basicAuthorization, OAuth2Provider, resolveTokenUrl } from '../../lambda/providers/oauth2.ts';
import { Redactor } from '../../lambda/redact.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const provider = new OAuth2Provider();
const BASE = 'https://auth.example/tenant-1';
const CREDENTIALS = { client_id: 'client one', client_secret: 's3cr:t+/=' };

interface Sent {
  url: string;
  headers: Record<string, string>;
  form: [string, string][];
}

/** A fake token endpoint answering each request with the next reply; records what was sent. */
function endpoint(...replies: { status?: number; body: unknown }[]) {
  const sent: Sent[] = [];
  const http = new ProviderHttpClient({
    sourceId: 'src-1',
    provider: 'oauth2',
    settings: {
      timeoutMs: 1000,
      maxAttempts: 3,
      maxResponseBytes: 65536,
      backoff: { baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    },
    redactor: new Redactor(),
    runtime: {
      fetch: async (input, init) => {
        sent.push({
          url: String(input),
          headers: init?.headers as Record<string, string>,
          form: [...new URLSearchParams(String(init?.body))],
        });
        const reply = replies.shift() ?? { status: 500, body: {} };
        return new Response(JSON.stringify(reply.body), { status: reply.status ?? 200 });
      },
      sleep: async () => {},
      random: () => 0,
      now: () => NOW,
    },
  });
  return { http, sent };
}

function options(extra: Record<string, unknown> = {}) {
  return v.parse(provider.optionsSchema, {
    tokenUrl: '/oauth/token',
    expectedLifetimeSeconds: 300,
    ...extra,
  });
}

async function issue(http: ProviderHttpClient, opts = options()) {
  const notes: { message: string; fields?: Record<string, unknown> }[] = [];
  const warnings: { code: string; message: string; fields?: Record<string, unknown> }[] = [];
  const sensitive: string[] = [];
  const issued = await provider.issueToken({
    sourceId: 'src-1',
    baseUrl: BASE,
    credentials: CREDENTIALS,
    options: opts,
    privateState: undefined,
    http,
    now: NOW,
    deploymentName: 'acme',
    note: (message, fields) => notes.push({ message, ...(fields ? { fields } : {}) }),
    warn: (code, message, fields) => warnings.push({ code, message, ...(fields ? { fields } : {}) }),
    markSensitive: (...values) => sensitive.push(...values),
    savePrivateState: async () => {},
  });
  return { issued, notes, warnings, sensitive };
}

const rejection = (code: string, message: RegExp) => (error: unknown) =>
  error instanceof ProviderError && error.code === code && message.test(error.message);

describe('OAuth2Provider request', () => {
  it('authenticates with HTTP Basic by default, form-urlencoding id and secret first (RFC 6749 §2.3.1)', async () => {
    const { http, sent } = endpoint({
      body: { access_token: 'opaque-1', token_type: 'Bearer', expires_in: 300 },
    });
    await issue(http);
    assert.equal(sent[0]?.url, 'https://auth.example/tenant-1/oauth/token');
    const encoded = Buffer.from('client+one:s3cr%3At%2B%2F%3D').toString('base64');
    assert.equal(sent[0]?.headers.Authorization, `Basic ${encoded}`);
    assert.equal(sent[0]?.headers['Content-Type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(sent[0]?.form, [['grant_type', 'client_credentials']]);
    assert.equal(basicAuthorization('a', 'b'), `Basic ${Buffer.from('a:b').toString('base64')}`);
  });

  it('puts the credentials in the form with client_secret_post, and sends scope, audience, resources and extras', async () => {
    const { http, sent } = endpoint({
      body: { access_token: 'opaque-1', token_type: 'bearer', expires_in: 300 },
    });
    await issue(
      http,
      options({
        clientAuthentication: 'client_secret_post',
        scope: 'payments:read payments:write',
        audience: 'https://api.example',
        resource: ['https://api.example/a', 'https://api.example/b'],
        extraParameters: { account_id: '42' },
      }),
    );
    assert.equal(sent[0]?.headers.Authorization, undefined);
    assert.deepEqual(sent[0]?.form, [
      ['grant_type', 'client_credentials'],
      ['client_id', 'client one'],
      ['client_secret', 's3cr:t+/='],
      ['scope', 'payments:read payments:write'],
      ['audience', 'https://api.example'],
      ['resource', 'https://api.example/a'],
      ['resource', 'https://api.example/b'],
      ['account_id', '42'],
    ]);
  });

  it('retries a 503 and then publishes', async () => {
    const { http, sent } = endpoint(
      { status: 503, body: {} },
      { body: { access_token: 'opaque-1', token_type: 'Bearer', expires_in: 300 } },
    );
    assert.equal((await issue(http)).issued.token, 'opaque-1');
    assert.equal(sent.length, 2);
  });
});

describe('OAuth2Provider expiry', () => {
  it('counts expires_in from the time the request was sent', async () => {
    const { http } = endpoint({ body: { access_token: 'opaque-1', token_type: 'Bearer', expires_in: 300 } });
    const { issued, sensitive } = await issue(http);
    assert.equal(issued.expiresAt.getTime(), NOW + 300_000);
    assert.equal(issued.issuedAt.getTime(), NOW);
    assert.ok(sensitive.includes('opaque-1'));
  });

  it('accepts expires_in as a numeric string', async () => {
    const { http } = endpoint({ body: { access_token: 'o', token_type: 'Bearer', expires_in: '300' } });
    assert.equal((await issue(http)).issued.expiresAt.getTime(), NOW + 300_000);
  });

  it('takes the earlier of expires_in and a JWT exp', async () => {
    const token = jwt({ exp: NOW / 1000 + 240, iat: NOW / 1000 });
    const { http } = endpoint({ body: { access_token: token, token_type: 'Bearer', expires_in: 300 } });
    assert.equal(
      (await issue(http, options({ expectedLifetimeSeconds: 240 }))).issued.expiresAt.getTime(),
      NOW + 240_000,
    );
  });

  it('uses defaultLifetimeSeconds when expires_in is missing, and a JWT exp without it', async () => {
    const opaque = endpoint({ body: { access_token: 'o', token_type: 'Bearer' } });
    const { issued } = await issue(
      opaque.http,
      options({ defaultLifetimeSeconds: 600, expectedLifetimeSeconds: 600 }),
    );
    assert.equal(issued.expiresAt.getTime(), NOW + 600_000);
    const withExp = endpoint({
      body: { access_token: jwt({ exp: NOW / 1000 + 300 }), token_type: 'Bearer' },
    });
    assert.equal((await issue(withExp.http)).issued.expiresAt.getTime(), NOW + 300_000);
  });

  it('refuses an opaque token without expires_in or defaultLifetimeSeconds', async () => {
    const { http } = endpoint({ body: { access_token: 'o', token_type: 'Bearer' } });
    await assert.rejects(issue(http), rejection('PROVIDER_INVALID_TOKEN', /has no expiry/));
  });

  it('refuses a non-finite or non-positive expires_in, and a JWT exp of 1e400', async () => {
    for (const body of [
      '{"access_token":"o","token_type":"Bearer","expires_in":1e400}',
      '{"access_token":"o","token_type":"Bearer","expires_in":0}',
      '{"access_token":"o","token_type":"Bearer","expires_in":"12abc"}',
    ]) {
      const { http } = endpoint({ body: JSON.parse(body) });
      await assert.rejects(issue(http), rejection('PROVIDER_BAD_RESPONSE', /expires_in/));
    }
    const infinite = `eyJhbGciOiJIUzI1NiJ9.${Buffer.from('{"exp":1e400}').toString('base64url')}.c2ln`;
    const { http } = endpoint({ body: { access_token: infinite, token_type: 'Bearer', expires_in: 300 } });
    await assert.rejects(issue(http), rejection('PROVIDER_INVALID_TOKEN', /"exp" claim/));
  });

  it('warns with TOKEN_SHORTER_THAN_EXPECTED when a token lives shorter than configured, beyond 30 s', async () => {
    const { http } = endpoint({ body: { access_token: 'o', token_type: 'Bearer', expires_in: 120 } });
    const { warnings, notes } = await issue(http);
    assert.deepEqual(
      warnings.map(({ code, fields }) => ({ code, fields })),
      [
        {
          code: 'TOKEN_SHORTER_THAN_EXPECTED',
          fields: { lifetimeSeconds: 120, expectedLifetimeSeconds: 300, lifetimeShortfallSeconds: 180 },
        },
      ],
    );
    assert.deepEqual(notes, []);
    const atTolerance = endpoint({ body: { access_token: 'o', token_type: 'Bearer', expires_in: 270 } });
    assert.deepEqual((await issue(atTolerance.http)).warnings, [], 'exactly 30 s short is within tolerance');
    const pastTolerance = endpoint({ body: { access_token: 'o', token_type: 'Bearer', expires_in: 269 } });
    assert.equal((await issue(pastTolerance.http)).warnings.length, 1);
  });

  it('publishes a token without token_type as Bearer, with a note', async () => {
    const { http } = endpoint({ body: { access_token: 'o', expires_in: 300 } });
    const { issued, notes } = await issue(http);
    assert.equal(issued.token, 'o');
    assert.deepEqual(
      notes.map((note) => note.message),
      ['token response has no token_type; publishing as Bearer'],
    );
  });

  it('ignores a refresh token in the answer: nothing kept, and registered as sensitive', async () => {
    const body = { access_token: 'o', token_type: 'Bearer', expires_in: 300, refresh_token: 'rt-1' };
    const { http } = endpoint({ body });
    const { issued, sensitive } = await issue(http);
    assert.equal(issued.privateState, undefined);
    assert.equal(provider.usesPrivateState, false);
    assert.ok(sensitive.includes('rt-1'));
  });

  it('refuses a token_type other than Bearer', async () => {
    const { http } = endpoint({ body: { access_token: 'o', token_type: 'DPoP', expires_in: 300 } });
    await assert.rejects(issue(http), rejection('PROVIDER_BAD_RESPONSE', /other than Bearer/));
  });
});

describe('OAuth2Provider errors (RFC 6749 §5.2)', () => {
  const cases: [number, unknown, string, RegExp][] = [
    [401, { error: 'invalid_client' }, 'PROVIDER_AUTH_REJECTED', /HTTP 401 with error "invalid_client"/],
    [
      400,
      { error: 'invalid_client' },
      'PROVIDER_AUTH_REJECTED',
      /"invalid_client" \(client credentials refused\)/,
    ],
    [400, { error: 'unauthorized_client' }, 'PROVIDER_AUTH_REJECTED', /"unauthorized_client"/],
    [400, { error: 'invalid_scope' }, 'PROVIDER_CLIENT_ERROR', /"invalid_scope"/],
    [400, { error: 'invalid_target' }, 'PROVIDER_CLIENT_ERROR', /"invalid_target"/],
    [400, { error: 'made_up <script>' }, 'PROVIDER_CLIENT_ERROR', /an unregistered error code$/],
    [403, { message: 'forbidden' }, 'PROVIDER_AUTH_REJECTED', /no OAuth error code/],
  ];
  for (const [status, body, code, message] of cases) {
    it(`HTTP ${status} ${JSON.stringify(body)} is ${code}`, async () => {
      const { http, sent } = endpoint({ status, body });
      await assert.rejects(issue(http), rejection(code, message));
      assert.equal(sent.length, 1, 'an OAuth error is not retried');
    });
  }

  it('never repeats error_description, error_uri or an unregistered code', async () => {
    const echo = 'client_secret=s3cr:t+/= was wrong for client one';
    const { http } = endpoint({
      status: 400,
      body: { error: echo, error_description: echo, error_uri: `https://x/?${echo}` },
    });
    const error = await issue(http).catch((caught: unknown) => caught as ProviderError);
    assert.ok(error instanceof ProviderError);
    assert.doesNotMatch(error.message, /was wrong|client one|s3cr/);
    const registered = endpoint({ status: 401, body: { error: 'invalid_client', error_description: echo } });
    const second = await issue(registered.http).catch((caught: unknown) => caught as ProviderError);
    assert.ok(second instanceof ProviderError);
    assert.doesNotMatch(second.message, /was wrong/);
    assert.equal(second.isAuthFailure, true);
  });
});

describe('OAuth2Provider options', () => {
  const source = (opts: unknown) => ({
    id: 'bank-api',
    provider: 'oauth2',
    baseUrl: BASE,
    secretId: 'bank-api',
    parameterName: '/t/tokens/bank-api',
    options: opts,
  });
  const resolve = (opts: unknown) => resolveSource(source(opts), new Map([['oauth2', provider]]), 'x');
  const refused = (opts: unknown, message: RegExp) =>
    assert.throws(
      () => resolve(opts),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
    );

  it('resolves a minimal source, with half the stated life as threshold', () => {
    const resolved = resolve({ tokenUrl: '/oauth/token', expectedLifetimeSeconds: 3600 });
    assert.equal(resolved.refreshThresholdSeconds, 1800);
    assert.equal(
      (resolved.options as { clientAuthentication: string }).clientAuthentication,
      'client_secret_basic',
    );
  });

  it('requires the expected lifetime and a token URL', () => {
    refused(undefined, /options/);
    refused({ tokenUrl: '/oauth/token' }, /expectedLifetimeSeconds/);
    refused({ expectedLifetimeSeconds: 300 }, /tokenUrl/);
  });

  it('keeps the token URL inside the base URL', () => {
    const ok = { expectedLifetimeSeconds: 300 };
    assert.ok(resolve({ ...ok, tokenUrl: `${BASE}/oauth/token` }));
    refused({ ...ok, tokenUrl: 'https://evil.example/tenant-1/token' }, /options.tokenUrl" must lie inside/);
    refused({ ...ok, tokenUrl: 'https://auth.example/tenant-10/token' }, /must lie inside/);
    refused({ ...ok, tokenUrl: 'https://auth.example/other/token' }, /must lie inside/);
    refused({ ...ok, tokenUrl: '/../other/token' }, /must lie inside/);
    refused({ ...ok, tokenUrl: '/%2e%2e/other/token' }, /must lie inside/);
    refused({ ...ok, tokenUrl: 'http://auth.example/tenant-1/token' }, /must lie inside/);
    refused({ ...ok, tokenUrl: 'https://u:p@auth.example/tenant-1/token' }, /credentials/);
    assert.equal(typeof resolveTokenUrl('https://h.example', '/token'), 'object');
  });

  it('refuses extra parameters that would override the grant or the credentials', () => {
    for (const name of [
      'grant_type',
      'client_id',
      'client_secret',
      'client_assertion',
      'client_assertion_type',
      'scope',
      'resource',
      'audience',
    ]) {
      refused(
        { tokenUrl: '/t', expectedLifetimeSeconds: 300, extraParameters: { [name]: 'x' } },
        /extraParameters" .*must not set/,
      );
    }
  });

  it('refuses malformed scope, resource, auth method and lifetimes', () => {
    const ok = { tokenUrl: '/t', expectedLifetimeSeconds: 300 };
    refused({ ...ok, scope: 'a  b' }, /scope/);
    refused({ ...ok, scope: 'a"b' }, /scope/);
    refused({ ...ok, resource: 'not a uri' }, /resource/);
    refused({ ...ok, resource: 'https://api.example/#frag' }, /resource/);
    refused({ ...ok, clientAuthentication: 'private_key_jwt' }, /clientAuthentication/);
    refused({ ...ok, expectedLifetimeSeconds: Number.POSITIVE_INFINITY }, /expectedLifetimeSeconds/);
    refused({ ...ok, defaultLifetimeSeconds: 10 }, /defaultLifetimeSeconds/);
    refused({ ...ok, refreshEvery: 1 }, /refreshEvery/);
    const many = (count: number) => Array.from({ length: count }, (_, index) => index);
    refused({ ...ok, resource: many(11).map((index) => `https://api.example/${index}`) }, /resource/);
    assert.ok(resolve({ ...ok, resource: many(10).map((index) => `https://api.example/${index}`) }));
    refused(
      { ...ok, extraParameters: Object.fromEntries(many(21).map((index) => [`p${index}`, 'x'])) },
      /at most 20/,
    );
    assert.ok(resolve({ ...ok, expectedLifetimeSeconds: 604_800 }));
    refused({ ...ok, expectedLifetimeSeconds: 604_801 }, /expectedLifetimeSeconds/);
  });
});
