import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stages } from '../../infra/config/stages.ts';

describe('npx cdk synth (offline, local esbuild) and cfn-lint', () => {
  const out = mkdtempSync(join(tmpdir(), 'cdk-out-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes every stage with bundled handlers and no deprecated CDK call, and cfn-lint finds no errors', () => {
    const synth = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', out], {
      encoding: 'utf8',
      // A deprecated API our code calls would print a warning at every synth: fail instead.
      env: { ...process.env, CI: 'true', JSII_DEPRECATED: 'fail' },
    });
    assert.equal(synth.status, 0, `cdk synth failed:\n${synth.stdout}\n${synth.stderr}`);
    // The example stages' placeholder notes point at the stage setting, not at a line of infra/.
    const printed = `${synth.stdout}\n${synth.stderr}`;
    assert.match(printed, /is a placeholder host \(set in infra\/config\/stages\.ts\)/);
    assert.doesNotMatch(printed, /infra\/[\w/-]+\.ts:\d+:\d+/);

    const templates = readdirSync(out).filter((file) => file.endsWith('.template.json'));
    const topLevel = templates.filter((file) => !file.endsWith('.nested.template.json'));
    assert.deepEqual(
      topLevel.sort(),
      stages
        .flatMap((stage) => [
          `TokenRefresher-${stage.name}.template.json`,
          ...(stage.replicaRegions ?? []).map(
            (region) => `TokenRefresher-${stage.name}-${region}.template.json`,
          ),
        ])
        .sort(),
    );
    assert.ok(templates.length > topLevel.length, 'the source shards are linted too');
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8'));
    assert.deepEqual(
      report.pluginReports.filter(
        (plugin: { summary?: { status?: string } }) => plugin.summary?.status !== 'success',
      ),
      [],
    );

    const assets = readdirSync(out).filter((entry) => entry.startsWith('asset.'));
    const bundles = assets.flatMap((asset) =>
      readdirSync(join(out, asset)).filter((file) => file === 'index.mjs'),
    );
    assert.ok(bundles.length >= 3, 'handler and consumer bundles are built by the local esbuild');

    const lint = spawnSync(
      'cfn-lint',
      templates.map((file) => join(out, file)),
      { encoding: 'utf8' },
    );
    const errors = lint.stdout.split('\n').filter((line) => /^E\d{4}/.test(line));
    assert.deepEqual(errors, [], lint.stdout);
    assert.ok(
      lint.status === 0 || lint.status === 4,
      `cfn-lint exit ${lint.status} (4 = warnings only):\n${lint.stdout}${lint.stderr}`,
    );
  });
});
