import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError } from '../../lambda/errors.ts';
import { createRefreshHandler, type RefreshEvent } from '../../lambda/handlers/create-refresh-handler.ts';
import type { HttpRuntime } from '../../lambda/http/provider-http-client.ts';
import { PapayaProvider } from '../../lambda/providers/papaya.ts';

const ssmMock = mockClient(SSMClient);
const secretsMock = mockClient(SecretsManagerClient);

const source = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  provider: 'papaya',
  baseUrl: 'https://papaya.example/api',
  secretId: `secrets/${id}`,
  parameterName: `/tr/tokens/papaya/${id}`,
  ...extra,
});

const jwt = (exp: number) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ exp, iat: exp - 86_400 })).toString('base64url')}.c2ln`;

/** Papaya answering every POST /token with a fresh day-long token. */
const papayaRuntime = (calls: string[]): HttpRuntime => ({
  fetch: async (input) => {
    calls.push(String(input));
    const exp = Math.floor(Date.now() / 1000) + 86_400;
    const validUntil = `${new Date(exp * 1000).toISOString().slice(0, 16)}Z`;
    return new Response(JSON.stringify({ token: jwt(exp), valid_until: validUntil }), { status: 200 });
  },
  sleep: async () => {},
  random: () => 0,
  now: Date.now,
});

function handlerWith(env: Record<string, string>, calls: string[] = []) {
  return createRefreshHandler({
    providers: [new PapayaProvider()],
    env,
    ssm: new SSMClient({ region: 'us-east-1' }),
    secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
    httpRuntime: papayaRuntime(calls),
  });
}

describe('handler event and settings contract', () => {
  beforeEach(() => {
    ssmMock.reset();
    secretsMock.reset();
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('none'), { name: 'ParameterNotFound' }));
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ api_key: 'k-1234567', client_secret: 's-1234567' }) });
  });

  it('treats an EventBridge-shaped event as "refresh every configured source"', async () => {
    const calls: string[] = [];
    const handler = handlerWith({ REFRESHER_SOURCES: JSON.stringify([source('a'), source('b')]) }, calls);
    const result = await handler({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      detail: {},
    } as RefreshEvent);
    assert.deepEqual(
      result.outcomes.map((outcome) => [outcome.sourceId, outcome.status]),
      [
        ['a', 'refreshed'],
        ['b', 'refreshed'],
      ],
    );
    assert.equal(calls.length, 2);
  });

  it('names unknown ids in event.sourceIds, before touching anything', async () => {
    const handler = handlerWith({ REFRESHER_SOURCES: JSON.stringify([source('a')]) });
    await assert.rejects(handler({ sourceIds: ['a', 'zz'] }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, 'event.sourceIds names unknown sources: zz');
      return true;
    });
    assert.equal(ssmMock.calls().length, 0);
  });

  it('refuses event sources that point credentials at a host the deployment does not allow', async () => {
    const calls: string[] = [];
    const handler = handlerWith(
      {
        REFRESHER_ALLOWED_BASE_URLS: JSON.stringify(['https://papaya.example/api']),
        REFRESHER_PARAMETER_PREFIX: '/tr',
      },
      calls,
    );
    await assert.rejects(
      handler({ sources: [source('evil', { baseUrl: 'https://collector.example' })] }),
      /source "evil": field "baseUrl" is not one this deployment allows/,
    );
    await assert.rejects(
      handler({ sources: [source('other', { parameterName: '/tr/tokens/papaya/someone-else' })] }),
      /source "other": field "parameterName" must be "\/tr\/tokens\/papaya\/other" in this deployment/,
    );
    assert.deepEqual(calls, [], 'no credentials were sent anywhere');
    assert.equal(secretsMock.calls().length, 0, 'no secret was read');
    const allowed = await handler({ sources: [source('ok')] });
    assert.equal(allowed.outcomes[0]?.status, 'refreshed');
  });

  const badSettings: [string, Record<string, string>, RegExp][] = [
    [
      'lease not a number',
      { REFRESHER_LOCK_LEASE_MS: 'soon' },
      /REFRESHER_LOCK_LEASE_MS must be a whole number of milliseconds, at least 1000/,
    ],
    [
      'negative safety margin',
      { REFRESHER_SAFETY_MARGIN_MS: '-1' },
      /REFRESHER_SAFETY_MARGIN_MS must be a whole number/,
    ],
    ['bad deployment name', { REFRESHER_DEPLOYMENT: 'has spaces' }, /REFRESHER_DEPLOYMENT must be 1-64/],
    [
      'allowed URLs not a list',
      { REFRESHER_ALLOWED_BASE_URLS: '"https://x"' },
      /REFRESHER_ALLOWED_BASE_URLS must be a JSON array of base URLs/,
    ],
    [
      'sources outside the pinned paths',
      { REFRESHER_PARAMETER_PREFIX: '/other', REFRESHER_SOURCES: JSON.stringify([source('a')]) },
      /source "a": field "parameterName" must be "\/other\/tokens\/papaya\/a"/,
    ],
  ];
  for (const [name, env, message] of badSettings) {
    it(`fails at start on ${name}`, () => {
      assert.throws(
        () => handlerWith(env),
        (error: unknown) => error instanceof ConfigError && message.test(error.message),
      );
    });
  }
});
