import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { readHandlerSettings } from '../../lambda/config/handler-settings.ts';
import { createRefreshHandler } from '../../lambda/handlers/create-refresh-handler.ts';
import type { HttpRuntime } from '../../lambda/http/provider-http-client.ts';
import { PapayaProvider } from '../../lambda/providers/papaya.ts';
import { ParameterStore } from '../../lambda/refresh/parameter-store.ts';
import { NotActiveRegionError, parseMarker, RegionSet, winningMarker } from '../../lambda/refresh/regions.ts';
import { sharedCapture } from '../support/capture.ts';
import { registerSensitive } from '../support/sensitive-values.ts';

const providers = new Map([['papaya', new PapayaProvider()]]);
const base = {
  AWS_REGION: 'eu-west-1',
  REFRESHER_PARAMETER_PREFIX: '/tr',
  REFRESHER_REPLICA_REGIONS: '["us-east-1"]',
};

describe('the active-region marker', () => {
  it('the highest generation wins; malformed markers and regions that did not answer have no say', () => {
    assert.equal(parseMarker('{"region":"eu-west-1"}'), undefined);
    assert.equal(parseMarker('not json'), undefined);
    assert.equal(parseMarker('{"region":"eu-west-1","generation":1.5}'), undefined);
    assert.deepEqual(parseMarker('{"region":"eu-west-1","generation":2,"changedAt":"x"}'), {
      region: 'eu-west-1',
      generation: 2,
    });
    assert.deepEqual(
      winningMarker([
        { region: 'us-east-1', generation: 1 },
        undefined,
        { region: 'eu-west-1', generation: 3 },
        { region: 'us-east-1', generation: 2 },
      ]),
      { region: 'eu-west-1', generation: 3 },
    );
    assert.equal(winningMarker([undefined, undefined]), undefined);
  });

  const ssmMock = mockClient(SSMClient);
  beforeEach(() => ssmMock.reset());
  const regions = (activeByDefault: boolean) =>
    new RegionSet({
      region: 'eu-west-1',
      home: new ParameterStore(new SSMClient({ region: 'eu-west-1' })),
      replicas: [
        { region: 'us-east-1', parameters: new ParameterStore(new SSMClient({ region: 'us-east-1' })) },
      ],
      prefix: '/tr',
      activeByDefault,
      replicaTimeoutMs: 1000,
    });

  it('a replica region that fails to answer has no say; this region failing to answer fails the run', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    ssmMock
      .on(GetParameterCommand)
      .callsFake(async (_input, getClient) =>
        (await getClient().config.region()) === 'us-east-1'
          ? Promise.reject(throttled)
          : { Parameter: { Value: '{"region":"eu-west-1","generation":4}', Version: 1 } },
      );
    await regions(false).assertActive('s', undefined);
    ssmMock.reset();
    ssmMock.on(GetParameterCommand).rejects(throttled);
    await assert.rejects(regions(true).assertActive('s', undefined), {
      code: 'STORE_FAILED',
      message: /ThrottlingException/,
    });
  });

  it('a standby with no marker anywhere stands down; home with none is active', async () => {
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('none'), { name: 'ParameterNotFound' }));
    await assert.rejects(regions(false).assertActive('s', undefined), NotActiveRegionError);
    await regions(true).assertActive('s', undefined);
  });
});

describe('replica settings are checked at cold start', () => {
  it('accepts replicas with a prefix and a region of its own', () => {
    const settings = readHandlerSettings(base, providers);
    assert.deepEqual(settings.regions, {
      region: 'eu-west-1',
      replicaRegions: ['us-east-1'],
      role: 'home',
      replicaTimeoutMs: 5000,
      parameterPrefix: '/tr',
    });
    assert.equal(readHandlerSettings({}, providers).regions, undefined);
  });

  for (const [env, message] of [
    [{ REFRESHER_REPLICA_REGIONS: '"us-east-1"' }, /must be a JSON array of region names/],
    [{ REFRESHER_REPLICA_REGIONS: '["us east 1"]' }, /must be a JSON array of region names/],
    [{ REFRESHER_REPLICA_REGIONS: '["eu-west-1"]' }, /names this function's own region eu-west-1/],
    [{ REFRESHER_PARAMETER_PREFIX: undefined }, /needs REFRESHER_PARAMETER_PREFIX/],
    [{ AWS_REGION: undefined }, /needs AWS_REGION/],
    [{ REFRESHER_REGION_ROLE: 'primary' }, /must be "home" or "standby"/],
    [
      { REFRESHER_REPLICA_REGIONS: undefined, REFRESHER_REGION_ROLE: 'standby' },
      /a standby .* needs REFRESHER_REPLICA_REGIONS/,
    ],
    [
      { REFRESHER_REPLICA_TIMEOUT_MS: '5' },
      /REFRESHER_REPLICA_TIMEOUT_MS must be a whole number of milliseconds, at least 100/,
    ],
  ] as const) {
    it(`refuses ${Object.entries(env)
      .map(([key, value]) => `${key}=${value ?? '(unset)'}`)
      .join(' ')}`, () => {
      assert.throws(() => readHandlerSettings({ ...base, ...env }, providers), {
        code: 'CONFIG_INVALID',
        message,
      });
    });
  }
});

describe('replica metrics', () => {
  const ssmMock = mockClient(SSMClient);
  const secretsMock = mockClient(SecretsManagerClient);
  const capture = sharedCapture();
  const CREDENTIALS = { api_key: 'k-replica-123', client_secret: 's-replica-456' };
  registerSensitive(CREDENTIALS.api_key, CREDENTIALS.client_secret);

  it('emits life left on each copy per replica region and provider, and whether it is behind', async () => {
    const exp = Math.floor(Date.now() / 1000) + 86_400;
    const token = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ exp, iat: exp - 86_400 })).toString('base64url')}.c2ln`;
    registerSensitive(token);
    ssmMock.reset();
    secretsMock.reset();
    ssmMock.on(GetParameterCommand).callsFake(async (input: { Name: string }) => {
      if (input.Name === '/tr/meta/key-arn') return { Parameter: { Value: 'arn:aws:kms:us-east-1:1:key/k' } };
      throw Object.assign(new Error('none'), { name: 'ParameterNotFound' });
    });
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(CREDENTIALS) });
    const runtime: HttpRuntime = {
      fetch: async () =>
        new Response(
          JSON.stringify({ token, valid_until: `${new Date(exp * 1000).toISOString().slice(0, 16)}Z` }),
          { status: 200 },
        ),
      sleep: async () => {},
      random: () => 0,
      now: Date.now,
    };
    const from = capture.jsonLines().length;
    const handler = createRefreshHandler({
      providers: [new PapayaProvider()],
      env: {
        ...base,
        REFRESHER_SOURCES: JSON.stringify([
          {
            id: 'payroll',
            provider: 'papaya',
            baseUrl: 'https://papaya.example/api',
            secretId: 'secrets/payroll',
            parameterName: '/tr/tokens/papaya/payroll',
          },
        ]),
      },
      ssm: new SSMClient({ region: 'eu-west-1' }),
      secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
      httpRuntime: runtime,
      replicaSsm: (region) => new SSMClient({ region }),
    });
    const { outcomes } = await handler({});
    assert.equal(outcomes[0]?.replicas?.[0]?.status, 'updated');
    const records = capture
      .jsonLines()
      .slice(from)
      .filter((line) => line._aws);
    const life = records.find((line) => 'ReplicaTokenSecondsRemaining' in line);
    assert.equal(life?.ReplicaRegion, 'us-east-1');
    assert.equal(life?.Provider, 'papaya');
    assert.ok(Number(life?.ReplicaTokenSecondsRemaining) > 86_000);
    const behind = records.find((line) => 'ReplicaBehind' in line);
    assert.equal(behind?.ReplicaRegion, 'us-east-1');
    assert.equal(behind?.ReplicaBehind, 0);
  });
});
