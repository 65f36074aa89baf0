import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../lambda/errors.ts';
import type { RefreshRunError } from '../../lambda/handlers/create-refresh-handler.ts';
import { putSecret, readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

async function failedRun(promise: Promise<unknown>): Promise<RefreshRunError> {
  return promise.then(
    () => assert.fail('the invocation must fail'),
    (error: RefreshRunError) => error,
  );
}

describe('secrets, rotation and several sources, through moto', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  it('names the source and the secret when the secret does not exist', async () => {
    const source = await world.paypackSource({ secretId: 'token-refresher/nobody-created-this' });
    const error = await failedRun(world.handler()({ sources: [source] }));
    world.capture.record(error);
    const outcome = error.outcomes[0];
    assert.ok(outcome?.status === 'failed');
    assert.equal(outcome.error.code, 'SECRET_NOT_FOUND');
    assert.equal(
      outcome.error.message,
      `source "${source.id}": secret "token-refresher/nobody-created-this" does not exist (ResourceNotFoundException)`,
    );
    assert.equal(await readParameter(world.aws.ssm, source.parameterName), undefined, 'nothing published');
  });

  it('rejects a secret that is not JSON without quoting it', async () => {
    const source = await world.papayaSource();
    const raw = 'api_key=abcdef123456;client_secret=hunter2hunter2';
    world.testSecrets.push(raw, 'hunter2hunter2');
    await putSecret(world.aws.secretsManager, source.secretId, raw);
    const error = await failedRun(world.handler()({ sources: [source] }));
    world.capture.record(error);
    const outcome = error.outcomes[0];
    assert.ok(outcome?.status === 'failed');
    assert.equal(outcome.error.code, 'SECRET_INVALID');
    assert.equal(
      outcome.error.message,
      `source "${source.id}": secret "${source.secretId}" is not valid JSON`,
    );
  });

  it('says which credential field is missing when the secret holds another provider keys', async () => {
    const source = await world.paypackSource();
    await putSecret(
      world.aws.secretsManager,
      source.secretId,
      JSON.stringify({ api_key: 'k-123456', client_secret: 's-123456' }),
    );
    world.testSecrets.push('k-123456', 's-123456');
    const error = await failedRun(world.handler()({ sources: [source] }));
    world.capture.record(error);
    const outcome = error.outcomes[0];
    assert.ok(outcome?.status === 'failed');
    assert.equal(outcome.error.code, 'SECRET_INVALID');
    assert.match(outcome.error.message, /does not hold valid paypack credentials: "client_id" is required/);
  });

  it('re-reads a rotated secret once after the provider rejects the cached one', async () => {
    const source = await world.papayaSource();
    const handler = world.handler();
    await handler({ sources: [source] });
    await world.rotateClientSecret(source);
    const before = world.papaya.server.callsTo('token').length;

    const result = await handler({ sources: [source], force: true });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.deepEqual(
      world.papaya.server
        .callsTo('token')
        .slice(before)
        .map((call) => call.status),
      [401, 200],
    );
  });

  it('refreshes the healthy sources when one fails, then fails the invocation', async () => {
    const healthy = await world.papayaSource();
    const broken = await world.paypackSource({ secretId: 'token-refresher/missing' });
    const alsoHealthy = await world.paypackSource();
    const error = await failedRun(world.handler()({ sources: [healthy, broken, alsoHealthy] }));
    world.capture.record(error);

    assert.equal(error.message, `1 of 3 sources failed: ${broken.id} (SECRET_NOT_FOUND)`);
    assert.deepEqual(
      error.outcomes.map((outcome) => [outcome.sourceId, outcome.status]),
      [
        [healthy.id, 'refreshed'],
        [broken.id, 'failed'],
        [alsoHealthy.id, 'refreshed'],
      ],
    );
    assert.ok(await readParameter(world.aws.ssm, healthy.parameterName));
    assert.ok(await readParameter(world.aws.ssm, alsoHealthy.parameterName));
    const logged = world.capture.jsonLines().filter((line) => line.message === 'token refresh failed');
    assert.ok(logged.some((line) => line.sourceId === broken.id && line.level === 'ERROR'));
  });

  it('takes its sources from REFRESHER_SOURCES and narrows them with event.sourceIds', async () => {
    const first = await world.papayaSource();
    const second = await world.papayaSource();
    const handler = world.handler({ env: { REFRESHER_SOURCES: JSON.stringify([first, second]) } });

    const result = await handler({ sourceIds: [second.id] });

    assert.deepEqual(
      result.outcomes.map((outcome) => outcome.sourceId),
      [second.id],
    );
    assert.equal(await readParameter(world.aws.ssm, first.parameterName), undefined);
    const all = await handler({});
    assert.deepEqual(
      all.outcomes.map((outcome) => [outcome.sourceId, outcome.status]),
      [
        [first.id, 'refreshed'],
        [second.id, 'fresh'],
      ],
    );
  });

  it('fails at start, naming the field, when REFRESHER_SOURCES is invalid', async () => {
    const source = await world.paypackSource();
    const { privateParameterName: _omitted, ...withoutPrivate } = source;
    assert.throws(
      () => world.handler({ env: { REFRESHER_SOURCES: JSON.stringify([withoutPrivate]) } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message ===
          `source "${source.id}": field "privateParameterName" is required for paypack (it holds the refresh token, away from consumers)`,
    );
  });

  it('emits the seconds-remaining metric for every source on every run', async () => {
    const source = await world.papayaSource();
    world.capture.clear();
    await world.handler()({ sources: [source] });
    const emf = world.capture
      .jsonLines()
      .filter(
        (line) => line._aws !== undefined && line.Source === source.id && 'TokenSecondsRemaining' in line,
      );
    assert.equal(emf.length, 1);
    const seconds = emf[0]?.TokenSecondsRemaining as number;
    assert.ok(seconds > 86_400 - 120 && seconds <= 86_400, `about a day remaining, got ${seconds}`);
  });
});
