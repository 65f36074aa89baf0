import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const runOps = (script: string, args: string[], env: Record<string, string | undefined>) =>
  spawnSync(process.execPath, ['--import', 'tsx', `scripts/ops/${script}.ts`, ...args], {
    encoding: 'utf8',
    env: { ...process.env, STAGE: undefined, ...env },
    timeout: 60_000,
  });

function rowOf(output: string, source: string): string[] {
  const line = output.split('\n').find((text) => text.startsWith(`${source} `));
  assert.ok(line, `no row for ${source} in:\n${output}`);
  return line.split(/\s{2,}/);
}

describe('npm run status / npm run refresh against a running npm start', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'ops-local-'));
  let localMode: ChildProcess;
  let screen = '';

  before(async () => {
    localMode = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/local.ts', '--duration', '120', '--speed', '60'],
      {
        env: { ...process.env, LOCAL_STATE_DIR: stateDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    localMode.stdout?.on('data', (chunk: Buffer) => {
      screen += chunk;
    });
    const deadline = Date.now() + 60_000;
    while (
      !(
        existsSync(join(stateDir, 'state.json')) &&
        /demo-papaya refreshed/.test(screen) &&
        /demo-paypack refreshed/.test(screen)
      )
    ) {
      if (Date.now() > deadline) throw new Error(`local mode did not start:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  after(async () => {
    const exited = new Promise((resolve) => localMode.once('exit', resolve));
    localMode.kill('SIGTERM');
    await exited;
  });

  it('shows every source with expiry, age, version and last result', () => {
    const status = runOps('status', [], { LOCAL_STATE_DIR: stateDir });
    assert.equal(status.status, 0, status.stderr);
    assert.match(
      status.stdout,
      /^local mode \(pid \d+, AWS emulator http:\/\/127\.0\.0\.1:\d+, clock ×60\): every time below is simulated/,
    );
    assert.match(status.stdout, /SOURCE\s+PROVIDER\s+EXPIRES IN\s+AGE\s+VERSION\s+LAST REFRESH\s+WARNING/);
    const papaya = rowOf(status.stdout, 'demo-papaya');
    assert.equal(papaya[1], 'papaya');
    assert.match(papaya[2] ?? '', /^\d+m\d{2}s$/, 'expires in minutes (simulated time)');
    assert.match(papaya[5] ?? '', /^(refreshed|fresh), (\d+m)?\d+s ago$/);
    assert.equal(rowOf(status.stdout, 'demo-paypack')[1], 'paypack');
  });

  it('forces a refresh now and the status shows the new parameter version', () => {
    const before = Number(
      rowOf(runOps('status', [], { LOCAL_STATE_DIR: stateDir }).stdout, 'demo-papaya')[4],
    );
    const refresh = runOps('refresh', ['demo-papaya'], { LOCAL_STATE_DIR: stateDir });
    assert.equal(refresh.status, 0, refresh.stderr);
    // `fresh` when the running local mode refreshed it in the same moment: the version still moves on.
    assert.match(refresh.stdout, /^demo-papaya: (refreshed|fresh), expires \d{4}-\d{2}-\d{2}T/);
    const after = Number(rowOf(runOps('status', [], { LOCAL_STATE_DIR: stateDir }).stdout, 'demo-papaya')[4]);
    assert.ok(after > before, `version ${before} -> ${after}`);
  });

  it("shows the forced refresh in the running npm start's table", async () => {
    const deadline = Date.now() + 10_000;
    while (!/ demo-papaya (refreshed|fresh) \(forced\), expires at simulated /.test(screen)) {
      assert.ok(Date.now() < deadline, `no forced refresh in the live output:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('reports an undeployed stack by name, with what to do', () => {
    const { awsEndpoint } = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));
    const refresh = runOps('refresh', ['paypack-cashin'], {
      STAGE: 'dev',
      AWS_ENDPOINT_URL: awsEndpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    assert.equal(refresh.status, 1);
    assert.equal(
      refresh.stderr.split('\n').at(-2),
      "npm run refresh: stack TokenRefresher-dev in us-east-1 (the stage's region in infra/config/stages.ts) does not exist: deploy it (npx cdk deploy TokenRefresher-dev)",
    );
  });

  it('names the sources it knows when asked for another', () => {
    const refresh = runOps('refresh', ['nope'], { LOCAL_STATE_DIR: stateDir });
    assert.equal(refresh.status, 1);
    assert.match(refresh.stderr, /no source "nope" in local mode \(sources: demo-paypack, demo-papaya\)/);
  });
});

describe('ops commands explain themselves', () => {
  for (const script of ['status', 'refresh']) {
    it(`npm run ${script} -- --help prints its usage; an unknown flag lists the valid ones`, () => {
      const help = runOps(script, ['--help'], {});
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^npm run ${script} `));
      assert.match(help.stdout, /STAGE=<stage>/);
      const wrong = runOps(script, ['--sauce'], {});
      assert.equal(wrong.status, 1);
      assert.equal(
        wrong.stderr,
        `npm run ${script}: unknown option --sauce; valid options: --help (npm run ${script} -- --help)\n`,
      );
    });
  }
});

describe('ops commands with nothing to talk to', () => {
  it('say how to start local mode or point at a stage', () => {
    const status = runOps('status', [], { LOCAL_STATE_DIR: mkdtempSync(join(tmpdir(), 'ops-empty-')) });
    assert.equal(status.status, 1);
    assert.match(
      status.stderr,
      /nothing to talk to: start local mode with `npm start`.*or set STAGE=<stage> \(one of: dev, prod\)/,
    );
  });

  it('reject a stage that is not configured', () => {
    const refresh = runOps('refresh', ['x'], { STAGE: 'staging' });
    assert.equal(refresh.status, 1);
    assert.match(refresh.stderr, /STAGE=staging is not in infra\/config\/stages.ts \(dev, prod\)/);
  });
});
