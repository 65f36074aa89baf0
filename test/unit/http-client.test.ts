import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderError } from '../../lambda/errors.ts';
import { fullJitterDelay, parseRetryAfter } from '../../lambda/http/backoff.ts';
import {
  DEFAULT_HTTP_SETTINGS,
  type HttpRuntime,
  ProviderHttpClient,
} from '../../lambda/http/provider-http-client.ts';
import { baseUrlProblem, joinUrl } from '../../lambda/http/url-policy.ts';
import { Redactor } from '../../lambda/redact.ts';
import { registerSensitive } from '../support/sensitive-values.ts';

registerSensitive('sup3r-s3cret', 'eyJtoken');

/** A fake runtime: scripted responses, a virtual clock that sleeping advances, fixed randomness. */
function scriptedRuntime(responses: (() => Response | Promise<Response>)[], random = 0.5) {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  const requests: { url: string; init: RequestInit | undefined }[] = [];
  const runtime: HttpRuntime = {
    fetch: async (input, init) => {
      requests.push({ url: String(input), init });
      const next = responses.shift();
      if (!next) throw new Error('no scripted response left');
      return next();
    },
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    random: () => random,
    now: () => clock,
  };
  return { runtime, sleeps, requests, advance: (ms: number) => (clock += ms), now: () => clock };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  () =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });

function client(runtime: HttpRuntime, extra: { deadline?: number; redactor?: Redactor } = {}) {
  return new ProviderHttpClient({
    sourceId: 'merchant-a',
    provider: 'paypack',
    settings: DEFAULT_HTTP_SETTINGS,
    runtime,
    redactor: extra.redactor ?? new Redactor(),
    ...(extra.deadline === undefined ? {} : { deadline: extra.deadline }),
  });
}

const authorize = {
  route: 'authorize',
  method: 'POST' as const,
  url: new URL('https://pay.example/api/auth'),
  body: {},
  retry: true,
};

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof ProviderError, `expected ProviderError, got ${String(error)}`);
  return error;
}

describe('ProviderHttpClient', () => {
  it('retries 503 with full-jitter backoff and returns the eventual answer', async () => {
    const { runtime, sleeps } = scriptedRuntime([json(503, {}), json(503, {}), json(200, { ok: true })], 0.5);
    const response = await client(runtime).send(authorize);
    assert.deepEqual(response.body, { ok: true });
    assert.deepEqual(sleeps, [100, 200], 'half of 200 ms, then half of 400 ms');
  });

  it('honours Retry-After in seconds on 429', async () => {
    const { runtime, sleeps } = scriptedRuntime([
      json(429, {}, { 'retry-after': '2' }),
      json(200, { ok: true }),
    ]);
    await client(runtime).send(authorize);
    assert.deepEqual(sleeps, [2000]);
  });

  it('gives up at once when Retry-After asks for longer than it may wait', async () => {
    const { runtime, sleeps } = scriptedRuntime([
      json(429, { status: 429, message: 'slow down' }, { 'retry-after': '3600' }),
    ]);
    const error = await rejection(client(runtime).send(authorize));
    assert.equal(error.code, 'PROVIDER_RATE_LIMITED');
    assert.deepEqual(sleeps, []);
  });

  for (const status of [400, 401, 403, 404]) {
    it(`never retries ${status}`, async () => {
      const { runtime, requests } = scriptedRuntime([
        json(status, { error: 'Invalid request' }),
        json(200, {}),
      ]);
      const error = await rejection(client(runtime).send(authorize));
      assert.equal(requests.length, 1);
      assert.equal(error.status, status);
    });
  }

  it('makes a single attempt for non-retryable requests, even on 503', async () => {
    const { runtime, requests } = scriptedRuntime([json(503, {}), json(200, {})]);
    const error = await rejection(client(runtime).send({ ...authorize, retry: false }));
    assert.equal(requests.length, 1);
    assert.equal(error.code, 'PROVIDER_SERVER_ERROR');
  });

  it('stops retrying before the deadline instead of sleeping past it', async () => {
    const scripted = scriptedRuntime([json(503, {}), json(503, {}), json(200, {})], 0.99);
    const deadline = scripted.now() + 300;
    const error = await rejection(client(scripted.runtime, { deadline }).send(authorize));
    assert.equal(error.code, 'DEADLINE_EXCEEDED');
    assert.match(
      error.message,
      /stopped before the Lambda time budget ran out; last attempt: answered HTTP 503$/,
    );
    assert.equal(scripted.requests.length, 1);
    assert.ok(scripted.now() <= deadline, 'never slept past the deadline');
  });

  it('does not start an attempt when the deadline has already passed', async () => {
    const scripted = scriptedRuntime([json(200, {})]);
    const error = await rejection(client(scripted.runtime, { deadline: scripted.now() - 1 }).send(authorize));
    assert.equal(error.code, 'DEADLINE_EXCEEDED');
    assert.equal(scripted.requests.length, 0);
  });

  it('refuses plain http to a non-loopback host before sending anything', async () => {
    const { runtime, requests } = scriptedRuntime([json(200, {})]);
    const error = await rejection(
      client(runtime).send({ ...authorize, url: new URL('http://pay.example/api') }),
    );
    assert.match(error.message, /must use https/);
    assert.equal(requests.length, 0);
  });

  it('scrubs known secrets from a provider error message', async () => {
    const redactor = new Redactor();
    redactor.add('sup3r-s3cret');
    const { runtime } = scriptedRuntime([json(400, { message: 'bad client_secret sup3r-s3cret' })]);
    const error = await rejection(client(runtime, { redactor }).send(authorize));
    assert.equal(
      error.message,
      'source "merchant-a": paypack authorize answered HTTP 400: "bad client_secret [REDACTED]"',
    );
  });

  it('never puts the request URL in a network error (it may hold a refresh token)', async () => {
    const failing = () => {
      throw Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(
          new Error('connect ECONNREFUSED https://pay.example/api/auth/refresh/eyJtoken'),
          {
            code: 'ECONNREFUSED',
          },
        ),
      });
    };
    const { runtime } = scriptedRuntime([failing, failing, failing], 0);
    const error = await rejection(client(runtime).send(authorize));
    assert.equal(
      error.message,
      'source "merchant-a": paypack authorize network error (ECONNREFUSED) after 3 attempts',
    );
  });
});

describe('backoff helpers', () => {
  it('keeps full-jitter delays within [0, min(cap, base * 2^n))', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 0 };
    assert.equal(
      fullJitterDelay(0, policy, () => 0.999),
      99,
    );
    assert.equal(
      fullJitterDelay(3, policy, () => 0.999),
      799,
    );
    assert.equal(
      fullJitterDelay(10, policy, () => 0.999),
      999,
    );
    assert.equal(
      fullJitterDelay(10, policy, () => 0),
      0,
    );
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});

describe('URL policy', () => {
  it('accepts https anywhere and http only on loopback', () => {
    assert.equal(baseUrlProblem('https://payments.paypack.rw/api'), undefined);
    assert.equal(baseUrlProblem('http://127.0.0.1:8080/api'), undefined);
    assert.equal(baseUrlProblem('http://localhost:3000'), undefined);
    assert.match(baseUrlProblem('http://payments.paypack.rw/api') ?? '', /must use https/);
    assert.match(baseUrlProblem('https://user:pw@host') ?? '', /must not embed credentials/);
    assert.match(baseUrlProblem('payments.paypack.rw') ?? '', /not an absolute URL/);
  });

  it('rejects an empty query or fragment and non-ASCII hosts, which the URL parser would hide', () => {
    assert.match(baseUrlProblem('https://host.example/api?') ?? '', /query or fragment/);
    assert.match(baseUrlProblem('https://host.example/api#') ?? '', /query or fragment/);
    assert.match(baseUrlProblem('https://pаypack.rw/api') ?? '', /printable ASCII/, 'a Cyrillic "а"');
    assert.match(baseUrlProblem('https://host.example/a pi') ?? '', /printable ASCII/);
  });

  it('keeps the base path when joining', () => {
    assert.equal(
      joinUrl('https://payments.paypack.rw/api', '/auth/agents/authorize').href,
      'https://payments.paypack.rw/api/auth/agents/authorize',
    );
    assert.equal(joinUrl('https://x.example/api/', 'token').href, 'https://x.example/api/token');
  });
});
