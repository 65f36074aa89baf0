import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createRefreshHandler } from '../../lambda/handlers/create-refresh-handler.ts';
import { RunMetrics } from '../../lambda/handlers/run-metrics.ts';
import type { HttpRuntime } from '../../lambda/http/provider-http-client.ts';
import { PapayaProvider } from '../../lambda/providers/papaya.ts';
import { sharedCapture } from '../support/capture.ts';
import { registerSensitive } from '../support/sensitive-values.ts';

const ssmMock = mockClient(SSMClient);
const secretsMock = mockClient(SecretsManagerClient);
const capture = sharedCapture();
const CREDENTIALS = { api_key: 'k-metrics-123', client_secret: 's-metrics-456' };
registerSensitive(CREDENTIALS.api_key, CREDENTIALS.client_secret);

const source = (id: string) => ({
  id,
  provider: 'papaya',
  baseUrl: 'https://papaya.example/api',
  secretId: `secrets/${id}`,
  parameterName: `/tr/tokens/${id}`,
});

const jwt = (exp: number) =>
  `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ exp, iat: exp - 86_400 })).toString('base64url')}.c2ln`;

/** Papaya that answers 429 to the first call, then a day-long token; each call "takes" 40 ms of a fake clock. */
function throttledOnce(): HttpRuntime {
  let clock = Date.now();
  let calls = 0;
  return {
    fetch: async () => {
      calls += 1;
      clock += 40;
      if (calls === 1) return new Response('{}', { status: 429 });
      const exp = Math.floor(Date.now() / 1000) + 86_400;
      const validUntil = `${new Date(exp * 1000).toISOString().slice(0, 16)}Z`;
      return new Response(JSON.stringify({ token: jwt(exp), valid_until: validUntil }), { status: 200 });
    },
    sleep: async () => {},
    random: () => 0,
    now: () => clock,
  };
}

/** The EMF records written since `from`, as metric name → values, for one provider. */
function emitted(from: number, provider: string): Map<string, number[]> {
  const byName = new Map<string, number[]>();
  for (const line of capture.jsonLines().slice(from)) {
    if (!line._aws || line.Provider !== provider) continue;
    for (const [name, value] of Object.entries(line)) {
      if (['_aws', 'Provider', 'service'].includes(name)) continue;
      byName.set(name, [...(byName.get(name) ?? []), ...(Array.isArray(value) ? value : [value as number])]);
    }
  }
  return byName;
}

describe('run metrics for the dashboard', () => {
  beforeEach(() => {
    ssmMock.reset();
    secretsMock.reset();
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('none'), { name: 'ParameterNotFound' }));
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(CREDENTIALS) });
  });

  it('emits the outcome, every call latency, calls, retries and rate-limit answers per provider', async () => {
    const from = capture.jsonLines().length;
    const handler = createRefreshHandler({
      providers: [new PapayaProvider()],
      env: { REFRESHER_SOURCES: JSON.stringify([source('payroll')]) },
      ssm: new SSMClient({ region: 'us-east-1' }),
      secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
      httpRuntime: throttledOnce(),
    });
    const result = await handler({});
    assert.equal(result.outcomes[0]?.status, 'refreshed');
    const metrics = emitted(from, 'papaya');
    assert.deepEqual(metrics.get('Refreshed'), [1]);
    assert.equal(metrics.get('Fresh'), undefined);
    assert.deepEqual(metrics.get('RefreshFailed'), [0]);
    assert.deepEqual(metrics.get('ProviderLatency'), [40, 40]);
    assert.deepEqual(metrics.get('ProviderCalls'), [2]);
    assert.deepEqual(metrics.get('ProviderRetries'), [1]);
    assert.deepEqual(metrics.get('ProviderRateLimited'), [1]);
    assert.equal(metrics.get('LockWaits'), undefined, 'no lock configured');
  });

  it('counts each source that found its lock held once, however often it polled', async () => {
    const run = new RunMetrics([
      {
        id: 'payroll',
        provider: new PapayaProvider(),
        baseUrl: 'https://papaya.example/api',
      } as never,
    ]);
    let held = true;
    const lock = run.instrumentLock({
      tryAcquire: async () => (held ? undefined : { release: async () => {} }) as never,
    });
    await lock.tryAcquire('papaya/payroll');
    await lock.tryAcquire('papaya/payroll');
    held = false;
    assert.ok(await lock.tryAcquire('papaya/payroll'));
    const from = capture.jsonLines().length;
    const { Metrics } = await import('@aws-lambda-powertools/metrics');
    run.emit(new Metrics({ namespace: 'TokenRefresherTest', serviceName: 'token-refresher' }));
    assert.deepEqual(emitted(from, 'papaya').get('LockWaits'), [1], 'one source waited (twice)');
  });
});
