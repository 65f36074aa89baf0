import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { TokenRefresher } from '../../infra/token-refresher.ts';
import { PROVIDER_NAMES } from '../../lambda/providers/provider-names.ts';
import { repo, run } from './registry.ts';

type Json = Record<string, unknown>;
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Json;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('the published packages (built by npm test before it runs the tests)', () => {
  for (const name of ['client', 'cdk']) {
    it(`@token-refresher/${name}: publint and arethetypeswrong (ESM) find nothing`, async () => {
      const directory = join(repo, 'packages', name);
      const publint = await run(
        process.execPath,
        [join(repo, 'node_modules/publint/src/cli.js'), '--strict', directory],
        repo,
      );
      assert.match(publint.stdout, /All good!/);
      await run(
        process.execPath,
        [
          join(repo, 'node_modules/@arethetypeswrong/cli/dist/index.js'),
          '--pack',
          directory,
          '--profile',
          'esm-only',
        ],
        repo,
      );
    });
  }

  it('only the two packages can be published: the repository root is private, and so is nothing else', () => {
    const root = readJson(join(repo, 'package.json'));
    assert.equal(root.private, true);
    assert.deepEqual(root.workspaces, ['packages/client', 'packages/cdk']);
    for (const name of ['client', 'cdk']) {
      const manifest = readJson(join(repo, 'packages', name, 'package.json'));
      assert.equal(manifest.name, `@token-refresher/${name}`);
      assert.equal(manifest.license, 'Apache-2.0');
      assert.equal(manifest.dependencies, undefined, 'no dependencies');
      assert.ok(existsSync(join(repo, 'packages', name, 'LICENSE')));
    }
    const config = readJson(join(repo, '.changeset/config.json'));
    assert.equal(config.access, 'public');
  });

  it("the construct library's handlers are byte for byte what this repository's own synth deploys", () => {
    const outdir = mkdtempSync(join(tmpdir(), 'token-refresher-assets-'));
    try {
      const app = new App({ outdir });
      const stack = new Stack(app, 'Assets', { env: { account: '123456789012', region: 'eu-west-1' } });
      const secret = (id: string) =>
        secretsmanager.Secret.fromSecretNameV2(stack, id, `token-refresher/test/${id}`);
      new TokenRefresher(stack, 'Tokens', {
        parameterPrefix: '/token-refresher/test',
        sources: [
          { id: 'cash-in', provider: 'paypack', secret: secret('cash-in') },
          {
            id: 'payroll',
            provider: 'papaya',
            secret: secret('payroll'),
            baseUrl: 'https://api.papaya.internal/api',
          },
          {
            id: 'bank',
            provider: 'oauth2',
            secret: secret('bank'),
            baseUrl: 'https://auth.bank.internal/tenant',
            options: { tokenUrl: '/oauth/token', expectedLifetimeSeconds: 300 },
          },
        ],
      });
      app.synth();
      const deployed = new Set(
        readdirSync(outdir)
          .filter((name) => name.startsWith('asset.'))
          .map((name) => join(outdir, name, 'index.mjs'))
          .filter((file) => existsSync(file))
          .map(sha256),
      );
      for (const provider of PROVIDER_NAMES) {
        const shipped = join(repo, 'packages/cdk/assets', provider, 'index.mjs');
        assert.ok(
          deployed.has(sha256(shipped)),
          `${provider}: the shipped handler is the one the repository deploys`,
        );
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
