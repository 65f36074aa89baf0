import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import * as v from 'valibot';
import { resolveSource } from '../../lambda/config/source-config.ts';
import { defaultHttpRuntime } from '../../lambda/http/provider-http-client.ts';
import type { IssueContext, TokenProvider } from '../../lambda/providers/provider.ts';
import { CredentialCache } from '../../lambda/refresh/credential-cache.ts';
import { ParameterStore } from '../../lambda/refresh/parameter-store.ts';
import { refreshSource } from '../../lambda/refresh/refresh-source.ts';
import { sharedCapture } from '../support/capture.ts';
import { registerSensitive } from '../support/sensitive-values.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const jwt = (exp: number) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ exp, iat: exp - 900 })).toString('base64url')}.c2lnbmF0dXJl`;
const NEW_TOKEN = jwt(NOW / 1000 + 900);
registerSensitive(NEW_TOKEN, 'k-0123456789', 'state-1', 'state-2');

/** A provider the refresh cycle has never heard of: proof that it depends only on the interface. */
class EchoProvider implements TokenProvider<{ key: string }, Record<string, never>> {
  readonly name = 'echo';
  readonly credentialsSchema = v.object({ key: v.string() });
  readonly optionsSchema = v.optional(v.strictObject({}), {});
  readonly usesPrivateState = true;
  readonly calls: IssueContext<{ key: string }, Record<string, never>>[] = [];
  result: () => Promise<{ token: string; expiresAt: Date; issuedAt: Date; privateState?: string }> =
    async () => ({
      token: NEW_TOKEN,
      expiresAt: new Date(NOW + 900_000),
      issuedAt: new Date(NOW),
      privateState: 'state-2',
    });
  tokenLifetimeSeconds() {
    return 900;
  }
  defaultRefreshThresholdSeconds() {
    return 300;
  }
  issueToken(context: IssueContext<{ key: string }, Record<string, never>>) {
    this.calls.push(context);
    return this.result();
  }
}

const ssmMock = mockClient(SSMClient);
const secretsMock = mockClient(SecretsManagerClient);
const capture = sharedCapture();

function setup() {
  const provider = new EchoProvider();
  const source = resolveSource(
    {
      id: 'echo-1',
      provider: 'echo',
      baseUrl: 'https://echo.example',
      secretId: 'echo/secret',
      parameterName: '/t/echo-1',
      privateParameterName: '/p/echo-1',
      kmsKeyId: 'alias/token-refresher',
    },
    new Map([['echo', provider]]),
    'test',
  );
  const deps = {
    parameters: new ParameterStore(new SSMClient({ region: 'us-east-1' })),
    credentials: new CredentialCache(new SecretsManagerClient({ region: 'us-east-1' })),
    httpRuntime: defaultHttpRuntime,
    clock: () => NOW,
    deploymentName: 'unit',
    logger: new Logger({ serviceName: 'unit' }),
  };
  return { provider, source, deps };
}

const published = (expiresAt: string) =>
  JSON.stringify({
    token: jwt(NOW / 1000),
    tokenType: 'Bearer',
    expiresAt,
    issuedAt: new Date(NOW - 600_000).toISOString(),
    provider: 'echo',
    source: 'echo-1',
  });

describe('refreshSource with mocked AWS clients', () => {
  beforeEach(() => {
    ssmMock.reset();
    secretsMock.reset();
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ key: 'k-0123456789' }) });
    ssmMock
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
  });

  it('writes the private state, then the token, as SecureStrings with the configured key', async () => {
    const { source, deps } = setup();
    const outcome = await refreshSource(source, deps);

    assert.equal(outcome.status, 'refreshed');
    const puts = ssmMock.commandCalls(PutParameterCommand).map((call) => call.args[0].input);
    assert.deepEqual(
      puts.map(({ Name, Type, Overwrite, KeyId }) => ({ Name, Type, Overwrite, KeyId })),
      [
        { Name: '/p/echo-1', Type: 'SecureString', Overwrite: true, KeyId: 'alias/token-refresher' },
        { Name: '/t/echo-1', Type: 'SecureString', Overwrite: true, KeyId: 'alias/token-refresher' },
      ],
    );
    assert.deepEqual(JSON.parse(puts[1]?.Value ?? ''), {
      token: NEW_TOKEN,
      tokenType: 'Bearer',
      expiresAt: '2026-11-21T12:15:00.000Z',
      issuedAt: '2026-11-21T12:00:00.000Z',
      provider: 'echo',
      source: 'echo-1',
    });
  });

  it('skips the provider while the published token is fresh', async () => {
    ssmMock
      .on(GetParameterCommand, { Name: '/t/echo-1' })
      .resolves({ Parameter: { Value: published('2026-11-21T12:06:00.000Z'), Version: 3 } });
    const { provider, source, deps } = setup();
    const outcome = await refreshSource(source, deps);
    assert.deepEqual(outcome, {
      sourceId: 'echo-1',
      provider: 'echo',
      status: 'fresh',
      expiresAt: '2026-11-21T12:06:00.000Z',
      secondsRemaining: 360,
    });
    assert.equal(provider.calls.length, 0);
    assert.equal(secretsMock.commandCalls(GetSecretValueCommand).length, 0, 'no secret read when fresh');
  });

  it('refreshes at the threshold, and replaces a published value that is not in the contract format', async () => {
    ssmMock
      .on(GetParameterCommand, { Name: '/t/echo-1' })
      .resolves({ Parameter: { Value: published('2026-11-21T12:05:00.000Z'), Version: 3 } });
    const { provider, source, deps } = setup();
    assert.equal(
      (await refreshSource(source, deps)).status,
      'refreshed',
      'exactly 300 s left is not "more than" the threshold',
    );
    ssmMock
      .on(GetParameterCommand, { Name: '/t/echo-1' })
      .resolves({ Parameter: { Value: 'hand-edited', Version: 4 } });
    assert.equal((await refreshSource(source, deps)).status, 'refreshed');
    assert.equal(provider.calls.length, 2);
  });

  it('passes the stored private state to the provider', async () => {
    ssmMock
      .on(GetParameterCommand, { Name: '/p/echo-1' })
      .resolves({ Parameter: { Value: 'state-1', Version: 1 } });
    const { provider, source, deps } = setup();
    await refreshSource(source, deps);
    assert.equal(provider.calls[0]?.privateState, 'state-1');
  });

  it('reports a throttled write by AWS error name only, never echoing the value SSM was sent', async () => {
    ssmMock
      .on(PutParameterCommand, { Name: '/t/echo-1' })
      .rejects(Object.assign(new Error(`Value '${NEW_TOKEN}' failed`), { name: 'ThrottlingException' }));
    const { source, deps } = setup();
    const outcome = await refreshSource(source, deps);
    assert.ok(outcome.status === 'failed');
    assert.deepEqual(outcome.error, {
      code: 'STORE_FAILED',
      message: 'source "echo-1": could not write SSM parameter "/t/echo-1": ThrottlingException',
    });
  });

  it('still publishes the token when the new private state cannot be stored (the provider wrote ahead)', async () => {
    ssmMock
      .on(PutParameterCommand, { Name: '/p/echo-1', Value: 'state-2' })
      .rejects(Object.assign(new Error('x'), { name: 'ThrottlingException' }));
    const { source, deps } = setup();
    const outcome = await refreshSource(source, deps);
    assert.equal(outcome.status, 'refreshed');
    assert.deepEqual(
      ssmMock
        .commandCalls(PutParameterCommand)
        .map((call) => [call.args[0].input.Name, call.args[0].input.Value?.slice(0, 14)]),
      [
        ['/p/echo-1', 'state-2'],
        ['/t/echo-1', '{"token":"eyJh'],
      ],
    );
  });

  it('writes Standard-tier SecureStrings, and refuses a value over 4096 bytes naming the limit', async () => {
    const { provider, source, deps } = setup();
    await refreshSource(source, deps);
    const tiers = ssmMock.commandCalls(PutParameterCommand).map((call) => call.args[0].input.Tier);
    assert.deepEqual(tiers, ['Standard', 'Standard']);
    const huge = jwt(NOW / 1000 + 900).replace('c2lnbmF0dXJl', 'x'.repeat(5000));
    registerSensitive(huge);
    provider.result = async () => ({
      token: huge,
      expiresAt: new Date(NOW + 900_000),
      issuedAt: new Date(NOW),
    });
    ssmMock.resetHistory();
    const outcome = await refreshSource(source, deps, { force: true });
    assert.ok(outcome.status === 'failed');
    assert.equal(outcome.error.code, 'STORE_FAILED');
    assert.match(outcome.error.message, /is \d+ bytes; a Standard-tier parameter holds at most 4096/);
    assert.equal(ssmMock.commandCalls(PutParameterCommand).length, 0, 'nothing written');
  });

  it('reports fresh only for a token above its threshold, even one another run just published', async () => {
    const { provider, source, deps } = setup();
    const expiring = (token: string) =>
      JSON.stringify({ ...JSON.parse(published(new Date(NOW + 200_000).toISOString())), token });
    // First read: an expiring token; while this run waits for the lock another run publishes a
    // different token that is itself below the threshold (300 s): that is not this run's work done.
    ssmMock
      .on(GetParameterCommand, { Name: '/t/echo-1' })
      .resolvesOnce({ Parameter: { Value: expiring(jwt(NOW / 1000 + 1)), Version: 3 } })
      .resolves({ Parameter: { Value: expiring(jwt(NOW / 1000 + 2)), Version: 4 } });
    let attempts = 0;
    const lock = {
      async tryAcquire() {
        attempts += 1;
        return attempts === 1 ? undefined : { renew: async () => {}, release: async () => {} };
      },
    };
    const outcome = await refreshSource(source, { ...deps, lock });
    assert.equal(outcome.status, 'refreshed');
    assert.equal(provider.calls.length, 1);
  });

  it('fails without calling the provider when the published token cannot be read', async () => {
    ssmMock
      .on(GetParameterCommand, { Name: '/t/echo-1' })
      .rejects(Object.assign(new Error('KMS says no'), { name: 'ParameterVersionNotFound' }));
    const { provider, source, deps } = setup();
    const outcome = await refreshSource(source, deps);
    assert.ok(outcome.status === 'failed');
    assert.equal(
      outcome.error.message,
      'source "echo-1": could not read SSM parameter "/t/echo-1": ParameterVersionNotFound',
    );
    assert.equal(provider.calls.length, 0);
  });

  it('maps Secrets Manager access denied to its own code', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const { source, deps } = setup();
    const outcome = await refreshSource(source, deps);
    assert.ok(outcome.status === 'failed');
    assert.deepEqual(outcome.error, {
      code: 'SECRET_ACCESS_DENIED',
      message: 'source "echo-1": secret "echo/secret" cannot be read (AccessDeniedException)',
    });
  });

  it('reads each secret once per container', async () => {
    const { source, deps } = setup();
    await refreshSource(source, deps, { force: true });
    await refreshSource(source, deps, { force: true });
    assert.equal(secretsMock.commandCalls(GetSecretValueCommand).length, 1);
  });

  it('reduces an unexpected error to its type, since its message may hold anything', async () => {
    const { provider, source, deps } = setup();
    provider.result = async () => {
      throw new TypeError(`cannot read ${NEW_TOKEN}`);
    };
    const outcome = await refreshSource(source, deps);
    assert.ok(outcome.status === 'failed');
    assert.deepEqual(outcome.error, { code: 'UNEXPECTED', message: 'source "echo-1": unexpected TypeError' });
  });

  it('scrubs credentials and tokens from notes the provider logs', async () => {
    const { provider, source, deps } = setup();
    provider.result = async () => {
      provider.calls[0]?.note('saw k-0123456789 at the door');
      return { token: NEW_TOKEN, expiresAt: new Date(NOW + 900_000), issuedAt: new Date(NOW) };
    };
    await refreshSource(source, deps);
    const note = capture.jsonLines().find((line) => String(line.message).startsWith('saw'));
    assert.equal(note?.message, 'saw [REDACTED] at the door');
  });

  it("logs a provider's warnings at WARN, scrubbed, under the cycle's own source and code, and lists each code once", async () => {
    const { provider, source, deps } = setup();
    provider.result = async () => {
      const context = provider.calls[0];
      for (const attempt of [1, 2]) {
        context?.warn('TOKEN_SHORTER_THAN_EXPECTED', `attempt ${attempt}: k-0123456789 lives short`, {
          source: 'spoofed',
          warning: 'SPOOFED',
          seen: `key k-0123456789 again`,
          lifetimeSeconds: 60,
        });
      }
      return { token: NEW_TOKEN, expiresAt: new Date(NOW + 900_000), issuedAt: new Date(NOW) };
    };
    const from = capture.jsonLines().length;
    const outcome = await refreshSource(source, deps);
    assert.ok(outcome.status === 'refreshed');
    assert.deepEqual(outcome.warnings, ['TOKEN_SHORTER_THAN_EXPECTED']);
    const lines = capture
      .jsonLines()
      .slice(from)
      .filter((line) => line.warning !== undefined);
    assert.deepEqual(
      lines.map(({ level, message, source, warning, seen, lifetimeSeconds }) => ({
        level,
        message,
        source,
        warning,
        seen,
        lifetimeSeconds,
      })),
      [1, 2].map((attempt) => ({
        level: 'WARN',
        message: `attempt ${attempt}: [REDACTED] lives short`,
        source: 'echo-1',
        warning: 'TOKEN_SHORTER_THAN_EXPECTED',
        seen: 'key [REDACTED] again',
        lifetimeSeconds: 60,
      })),
    );
  });

  it('has no warnings on an outcome whose provider did not warn', async () => {
    const { source, deps } = setup();
    const outcome = await refreshSource(source, deps);
    assert.ok(outcome.status === 'refreshed');
    assert.equal(outcome.warnings, undefined);
  });
});
