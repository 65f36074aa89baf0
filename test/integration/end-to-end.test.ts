import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

describe('end to end through moto: secret -> handler -> SecureString', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  it('publishes a Paypack token whose expiresAt is the provider expiry', async () => {
    const source = await world.paypackSource();
    const result = await world.handler()({ sources: [source] });
    world.capture.record(result);

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    const stored = await readParameter(world.aws.ssm, source.parameterName);
    assert.equal(stored?.type, 'SecureString');
    const published = parsePublishedToken(stored?.value ?? '');
    assert.ok(published, 'published value follows the contract');
    assert.equal(published.provider, 'paypack');
    assert.equal(published.source, source.id);
    assert.equal(published.tokenType, 'Bearer');
    const issuedAccess = world.paypack.issued.at(-2);
    assert.equal(published.token, issuedAccess);
    assert.ok(await world.paypack.isLive(published.token));
    const exp = JSON.parse(Buffer.from(published.token.split('.')[1] ?? '', 'base64url').toString()).exp;
    assert.equal(published.expiresAt, new Date(exp * 1000).toISOString());
    assert.deepEqual(Object.keys(JSON.parse(stored?.value ?? '{}')).sort(), [
      'expiresAt',
      'issuedAt',
      'provider',
      'source',
      'token',
      'tokenType',
    ]);

    const privateState = await readParameter(world.aws.ssm, source.privateParameterName ?? '');
    assert.equal(privateState?.type, 'SecureString');
    assert.equal(JSON.parse(privateState?.value ?? '{}').refresh, world.paypack.issued.at(-1));
  });

  it('publishes a Papaya token whose expiresAt is the minute-truncated valid_until', async () => {
    const source = await world.papayaSource({ options: { expirationSeconds: 7200 } });
    const result = await world.handler({ env: { REFRESHER_DEPLOYMENT: 'acme-prod' } })({ sources: [source] });
    world.capture.record(result);

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    const published = parsePublishedToken(
      (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
    );
    const issued = world.papaya.issued.at(-1);
    assert.ok(published && issued);
    assert.equal(published.token, issued.token);
    assert.equal(published.expiresAt, new Date(issued.validUntil).toISOString());
    assert.ok(Date.parse(published.expiresAt) <= issued.expiresAtMs, 'never later than the JWT exp');
    assert.ok(
      issued.expiresAtMs - Date.parse(published.expiresAt) < 60_000,
      'truncation loses under a minute',
    );
    assert.equal(issued.tokenName, `acme-prod-${source.id}`);
    assert.ok(await world.papaya.isLive(published.token));
  });
});
