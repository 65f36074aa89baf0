import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import {
  createRefreshHandler,
  type RefreshHandlerOptions,
  type RefreshRunError,
} from '../../lambda/handlers/create-refresh-handler.ts';
import { OAuth2Provider } from '../../lambda/providers/oauth2.ts';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import {
  type ClientAuthMethod,
  JWT_RESOURCE,
  OidcAuthorizationServer,
  OPAQUE_RESOURCE,
} from '../sandboxes/oidc-authorization-server.ts';
import { createLockTable, putSecret, readParameter } from '../support/aws.ts';
import { registerSensitiveSource } from '../support/sensitive-values.ts';
import { World } from '../support/world.ts';

const TTL_SECONDS = 300;

/**
 * The real handler with the oauth2 provider, the real SDK against moto, and
 * panva's oidc-provider as the authorization server: nothing of the OAuth side
 * is ours.
 */
describe('oauth2 provider against oidc-provider (client credentials)', () => {
  let world: World;
  let server: OidcAuthorizationServer;
  const clientIds = new Map<string, string>();
  const clientIdOf = (definition: { id: string }) => clientIds.get(definition.id) ?? '';
  before(async () => {
    world = await World.start();
    server = new OidcAuthorizationServer({ accessTokenTtlSeconds: TTL_SECONDS });
    await server.start();
    registerSensitiveSource(() => server.issued);
    await createLockTable(world.aws.dynamodb, 'oauth2-locks');
  });
  after(async () => {
    await server.stop();
    await world.stop();
  });

  async function source(
    authMethod: ClientAuthMethod,
    resource: string,
    extra: Record<string, unknown> = {},
  ): Promise<SourceDefinition & { id: string }> {
    const id = world.uniqueId(`oauth2-${authMethod === 'client_secret_basic' ? 'basic' : 'post'}`);
    const credentials = server.addClient(authMethod);
    const secretId = `token-refresher/${id}`;
    await putSecret(world.aws.secretsManager, secretId, JSON.stringify(credentials));
    clientIds.set(id, credentials.client_id);
    return {
      id,
      provider: 'oauth2',
      baseUrl: server.url,
      secretId,
      parameterName: `/token-refresher/tokens/${id}`,
      options: {
        tokenUrl: '/token',
        clientAuthentication: authMethod,
        scope: 'payments:read',
        resource,
        expectedLifetimeSeconds: TTL_SECONDS,
        ...extra,
      },
    };
  }

  function handler(options: Partial<RefreshHandlerOptions> = {}) {
    return createRefreshHandler({
      providers: [new OAuth2Provider()],
      env: {},
      ssm: world.aws.ssm,
      secretsManager: world.aws.secretsManager,
      dynamodb: world.aws.dynamodb,
      ...options,
    });
  }

  async function published(name: string) {
    const parameter = await readParameter(world.aws.ssm, name);
    return parameter && { ...parameter, token: parsePublishedToken(parameter.value) };
  }

  async function failedRun(promise: Promise<unknown>): Promise<RefreshRunError> {
    const error = await promise.then(
      () => assert.fail('the invocation must fail'),
      (caught: RefreshRunError) => caught,
    );
    world.capture.record(error);
    return error;
  }

  for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
    it(`publishes a JWT access token with ${authMethod}, its expiry the earlier of exp and expires_in`, async () => {
      const definition = await source(authMethod, JWT_RESOURCE);
      const sentAt = Date.now();
      const { outcomes } = await handler()({ sources: [definition] });
      const receivedAt = Date.now();
      assert.equal(outcomes[0]?.status, 'refreshed');
      const value = await published(definition.parameterName);
      assert.equal(value?.type, 'SecureString');
      const token = value?.token;
      assert.ok(token);
      assert.equal(token.provider, 'oauth2');
      assert.equal(token.tokenType, 'Bearer');
      const claims = decodeJwt(token.token);
      assert.equal(claims.aud, JWT_RESOURCE);
      assert.equal(claims.client_id, clientIdOf(definition));
      const expiresAt = Date.parse(token.expiresAt);
      assert.ok(expiresAt <= (claims.exp ?? 0) * 1000, 'never later than the JWT exp');
      assert.ok(
        expiresAt >= sentAt + TTL_SECONDS * 1000 - 1000 && expiresAt <= receivedAt + TTL_SECONDS * 1000,
      );
    });

    it(`publishes an opaque access token with ${authMethod}, its expiry from expires_in at sending time`, async () => {
      const definition = await source(authMethod, OPAQUE_RESOURCE);
      const sentAt = Date.now();
      await handler()({ sources: [definition] });
      const token = (await published(definition.parameterName))?.token;
      assert.ok(token);
      assert.throws(() => decodeJwt(token.token), 'the resource server gets opaque tokens');
      const expiresAt = Date.parse(token.expiresAt);
      // Counted from just before the request left (the handler's clock), not from when the answer came.
      assert.ok(expiresAt >= sentAt + TTL_SECONDS * 1000 && expiresAt <= sentAt + TTL_SECONDS * 1000 + 2000);
    });
  }

  it('stays fresh, then refreshes near expiry, each time with one grant', async () => {
    const definition = await source('client_secret_basic', OPAQUE_RESOURCE);
    const run = (clock: () => number) => handler({ clock })({ sources: [definition] });
    await run(Date.now);
    const first = await published(definition.parameterName);
    const before = server.tokenResponses;
    const fresh = await run(Date.now);
    assert.equal(fresh.outcomes[0]?.status, 'fresh');
    assert.equal(server.tokenResponses, before, 'no grant for a fresh token');
    // Default threshold is half the life: 200 s later only 100 s are left.
    const later = () => Date.now() + 200_000;
    const refreshed = await run(later);
    assert.equal(refreshed.outcomes[0]?.status, 'refreshed');
    assert.equal(server.tokenResponses, before + 1);
    const second = await published(definition.parameterName);
    assert.notEqual(second?.token?.token, first?.token?.token);
    assert.equal(second?.version, (first?.version ?? 0) + 1);
  });

  it('runs concurrent invocations as one grant with the lock table', async () => {
    const definition = await source('client_secret_post', JWT_RESOURCE);
    const before = server.tokenResponses;
    const invoke = handler({ env: { REFRESHER_LOCK_TABLE: 'oauth2-locks' } });
    const results = await Promise.all([1, 2, 3].map(() => invoke({ sources: [definition] })));
    assert.equal(server.tokenResponses, before + 1, 'one token request for three runs');
    const statuses = results.map((result) => result.outcomes[0]?.status).sort();
    assert.deepEqual(statuses, ['fresh', 'fresh', 'refreshed']);
  });

  it('fails a wrong secret as an auth failure, keeping the last good token', async () => {
    const definition = await source('client_secret_basic', JWT_RESOURCE);
    await handler()({ sources: [definition] });
    const good = await published(definition.parameterName);
    server.setClientSecret(clientIdOf(definition), `server-only-${Date.now()}`);
    const error = await failedRun(handler()({ sources: [definition], force: true }));
    const outcome = error.outcomes[0];
    assert.ok(outcome?.status === 'failed');
    assert.equal(outcome.error.code, 'PROVIDER_AUTH_REJECTED');
    assert.match(outcome.error.message, /oauth2 token answered HTTP 401 with error "invalid_client"/);
    assert.doesNotMatch(outcome.error.message, /client authentication failed/, 'no error_description');
    assert.deepEqual(await published(definition.parameterName), good, 'last good token untouched');
  });

  it('re-reads a rotated secret after invalid_client and succeeds in the same run', async () => {
    const definition = await source('client_secret_post', OPAQUE_RESOURCE);
    const invoke = handler();
    await invoke({ sources: [definition] });
    // Rotation: the server takes only the new secret, and the new secret is put into Secrets Manager.
    const rotated = `rotated-${Date.now()}`;
    server.setClientSecret(clientIdOf(definition), rotated);
    await putSecret(
      world.aws.secretsManager,
      definition.secretId,
      JSON.stringify({ client_id: clientIdOf(definition), client_secret: rotated }),
    );
    const before = server.tokenResponses;
    const { outcomes } = await invoke({ sources: [definition], force: true });
    assert.equal(outcomes[0]?.status, 'refreshed');
    assert.equal(server.tokenResponses, before + 1);
  });

  it('fails a removed client as an auth failure', async () => {
    const definition = await source('client_secret_basic', OPAQUE_RESOURCE);
    server.removeClient(clientIdOf(definition));
    const error = await failedRun(handler()({ sources: [definition] }));
    const outcome = error.outcomes[0];
    assert.ok(outcome?.status === 'failed');
    assert.equal(outcome.error.code, 'PROVIDER_AUTH_REJECTED');
    assert.equal(await readParameter(world.aws.ssm, definition.parameterName), undefined);
  });

  it('names invalid_target for an unknown resource indicator, as a client error', async () => {
    const definition = await source('client_secret_basic', 'https://unknown-api.example/');
    const error = await failedRun(handler()({ sources: [definition] }));
    const outcome = error.outcomes[0];
    assert.ok(outcome?.status === 'failed');
    assert.equal(outcome.error.code, 'PROVIDER_CLIENT_ERROR');
    assert.match(outcome.error.message, /HTTP 400 with error "invalid_target"$/);
  });

  it('probes a new token on the opt-in probePath and refuses to publish one the API rejects', async () => {
    // The fault-injecting OAuth 2.0 sandbox: oidc-provider has no resource endpoint to probe.
    const options = { tokenUrl: '/oauth/token', expectedLifetimeSeconds: 300, probePath: '/v1/me' };
    const definition = await world.oauth2Source({ options });
    const invoke = world.handler();
    const probes = () => world.oauth2.server.callsTo('me').map((call) => call.status);
    assert.equal((await invoke({ sources: [definition] })).outcomes[0]?.status, 'refreshed');
    assert.deepEqual(probes(), [200]);
    const lastGood = await readParameter(world.aws.ssm, definition.parameterName);
    world.oauth2.server.inject('me', { kind: 'status', status: 401, body: { error: 'invalid_token' } }, 1);
    const error = await failedRun(invoke({ sources: [definition], force: true }));
    const outcome = error.outcomes[0];
    assert.ok(outcome?.status === 'failed');
    assert.equal(outcome.error.code, 'PROVIDER_TOKEN_REJECTED');
    assert.deepEqual(await readParameter(world.aws.ssm, definition.parameterName), lastGood);
    await invoke({ sources: [await world.oauth2Source()] });
    assert.equal(probes().length, 2, 'no probe without probePath');
  });

  it('warns, at WARN and in the ProviderWarnings metric, when the server grants a shorter life than the source states', async () => {
    const from = world.capture.jsonLines().length;
    const definition = await source('client_secret_basic', OPAQUE_RESOURCE, { expectedLifetimeSeconds: 900 });
    const outcome = (await handler()({ sources: [definition] })).outcomes[0];
    assert.ok(outcome?.status === 'refreshed');
    assert.deepEqual(outcome.warnings, ['TOKEN_SHORTER_THAN_EXPECTED']);
    const lines = world.capture.jsonLines().slice(from);
    const warning = lines.find(
      (line) => line.warning === 'TOKEN_SHORTER_THAN_EXPECTED' && line.source === definition.id,
    );
    assert.ok(warning, 'a warning line');
    assert.equal(warning.level, 'WARN');
    assert.equal(warning.expectedLifetimeSeconds, 900);
    assert.equal(warning.lifetimeSeconds, TTL_SECONDS);
    const counted = lines.filter(
      (line) => line._aws && line.Provider === 'oauth2' && 'ProviderWarnings' in line,
    );
    assert.deepEqual(
      counted.map((line) => line.ProviderWarnings),
      [1],
    );

    const stated = await source('client_secret_basic', OPAQUE_RESOURCE, {
      expectedLifetimeSeconds: TTL_SECONDS,
    });
    const quiet = world.capture.jsonLines().length;
    const plain = (await handler()({ sources: [stated] })).outcomes[0];
    assert.ok(plain?.status === 'refreshed');
    assert.equal(plain.warnings, undefined);
    assert.ok(
      !world.capture
        .jsonLines()
        .slice(quiet)
        .some((line) => 'ProviderWarnings' in line || line.warning),
    );
  });
});
