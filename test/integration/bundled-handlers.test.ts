import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HANDLER_ENTRIES } from '../../infra/bundling.ts';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { coldStart } from '../../scripts/bench/cold-start.ts';
import { buildBundle } from '../../scripts/bundle-report.ts';
import { createLockTable, readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

// The shipped artefact, not the sources: each handler built by infra/bundling.ts (what the CDK functions
// deploy), imported and invoked in a fresh Node process (the benchmark's child), against moto and a sandbox.
describe('bundled handlers, as they ship', () => {
  let world: World;
  const outDir = mkdtempSync(join(tmpdir(), 'bundles-'));
  const lockTable = 'bundle-test-locks';
  let awsEnv: Record<string, string>;
  before(async () => {
    world = await World.start();
    await createLockTable(world.aws.dynamodb, lockTable);
    awsEnv = {
      AWS_ENDPOINT_URL: world.moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      REFRESHER_LOCK_TABLE: lockTable,
    };
  });
  after(async () => {
    await world.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  for (const provider of ['paypack', 'papaya'] as const) {
    it(`${provider}: the bundle imports and publishes a token on ${process.version}`, async () => {
      const bundle = await buildBundle(provider, HANDLER_ENTRIES[provider], join(outDir, `${provider}.mjs`));
      const source = provider === 'paypack' ? await world.paypackSource() : await world.papayaSource();

      const report = await coldStart(bundle.file, { sources: [source] }, awsEnv);

      assert.equal(report.errorName, undefined);
      assert.equal(report.node, process.version);
      assert.deepEqual(report.statuses, ['refreshed']);
      const published = parsePublishedToken(
        (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
      );
      assert.equal(published?.provider, provider);
      assert.equal(published?.source, source.id);
    });
  }

  it('a configuration error keeps its class name in the bundle (what Lambda reports as errorType)', async () => {
    const invalidDeployment = { ...awsEnv, REFRESHER_DEPLOYMENT: 'not a valid name!' };
    const kept = await buildBundle('paypack', HANDLER_ENTRIES.paypack, join(outDir, 'paypack-names.mjs'));
    const minified = await buildBundle(
      'paypack',
      HANDLER_ENTRIES.paypack,
      join(outDir, 'paypack-minified.mjs'),
      {
        keepNames: false,
      },
    );

    const withNames = await coldStart(kept.file, { sources: [] }, invalidDeployment);
    const withoutNames = await coldStart(minified.file, { sources: [] }, invalidDeployment);

    assert.equal(withNames.errorName, 'ConfigError');
    assert.ok(withoutNames.errorName, 'the minified bundle fails the same way');
    assert.notEqual(withoutNames.errorName, 'ConfigError', 'without keepNames the class name is minified');
  });
});
