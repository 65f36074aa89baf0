import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ESBUILD_TARGET } from '../../infra/bundling.ts';

const packageJson = JSON.parse(readFileSync('package.json', 'utf8'));
const major = (version: string) => /\d+/.exec(version)?.[0];

// Lambda runs nodejs24.x; the project installs Node 24 from the npm registry (the `node` devDependency),
// whose binary npm puts first on the PATH of every script and `npm exec`/`npx` command.
describe('Node 24 for everything the project runs', () => {
  it('`npm exec -- node --version` in the project prints v24', () => {
    const result = spawnSync('npm', ['exec', '--', 'node', '--version'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.trim(), /^v24\./);
  });

  it("cdk.json's app starts through npx, so `cdk synth` runs the CDK app on Node 24", () => {
    const app: string = JSON.parse(readFileSync('cdk.json', 'utf8')).app;
    assert.match(app, /^npx tsx /);
    const result = spawnSync('npx', ['tsx', '--eval', 'console.log(process.version)'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout.trim(), /^v24\./);
  });

  it('tests started by npm run on Node 24', {
    skip: !process.env.npm_lifecycle_event && 'not started by npm',
  }, () => {
    assert.equal(major(process.version), '24');
  });

  it('engines, the installed Node and the bundle target agree on 24', () => {
    assert.equal(major(packageJson.devDependencies.node), '24');
    assert.equal(packageJson.engines.node, '>=24');
    assert.equal(ESBUILD_TARGET, 'node24');
  });
});
