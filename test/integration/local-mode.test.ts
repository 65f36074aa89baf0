import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findLeaks } from '../support/capture.ts';

function runLocalMode(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/local.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm start flags', () => {
  it('--help prints the usage; an unknown flag lists the valid ones; --speed is bounded', async () => {
    const help = await runLocalMode(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^npm start -- \[--speed <n>\]/);
    const wrong = await runLocalMode(['--sped', '10'], {});
    assert.equal(wrong.code, 1);
    assert.equal(
      wrong.stderr,
      'npm start failed: unknown option --sped; valid options: --duration <value>, --speed <value>, --config <value>, --help (npm start -- --help)\n',
    );
    const fast = await runLocalMode(['--speed', '601'], {});
    assert.equal(fast.code, 1);
    assert.match(fast.stderr, /--speed must be between 1 and 600/);
  });
});

describe('npm start (local mode on its embedded default)', () => {
  it('refreshes both demo sources repeatedly with the real handler, and logs no secret or token', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'local-mode-'));
    const secretsFile = join(stateDir, 'secrets.json');
    const { code, stdout, stderr } = await runLocalMode(['--duration', '10', '--speed', '400'], {
      LOCAL_MODE_SECRETS_FILE: secretsFile,
      LOCAL_STATE_DIR: stateDir,
    });

    assert.equal(code, 0, `exit code; stderr: ${stderr}`);
    const wallClockNow = Date.now();
    for (const source of ['demo-paypack', 'demo-papaya']) {
      const refreshes = stdout
        .split('\n')
        .filter((line) =>
          new RegExp(
            `^\\d\\d:\\d\\d:\\d\\d \\[simulated \\S+\\] ${source} refreshed, expires at simulated `,
          ).test(line),
        );
      assert.ok(refreshes.length >= 2, `${source} refreshed ${refreshes.length} times:\n${stdout}`);
      // Without a terminal each line starts with the real time, not the 400x demo clock.
      const [hours, minutes] = (refreshes.at(-1) ?? '').slice(0, 5).split(':').map(Number);
      const printed = new Date(wallClockNow);
      printed.setUTCHours(hours ?? 0, minutes ?? 0);
      assert.ok(
        Math.abs(printed.getTime() - wallClockNow) < 5 * 60_000,
        `real time first: ${refreshes.at(-1)}`,
      );
    }
    // What a consumer needs to read the demo tokens from its own function: the names and one variable.
    assert.match(
      stdout,
      /^tokens: \/token-refresher\/local\/tokens\/paypack\/demo-paypack, \/token-refresher\/local\/tokens\/papaya\/demo-papaya$/m,
    );
    assert.match(
      stdout,
      /^to read them from your own function: AWS_ENDPOINT_URL=http:\/\/127\.0\.0\.1:\d+ \(region us-east-1, any credentials\)$/m,
    );
    assert.match(stdout, /SOURCE\s+PROVIDER\s+STATE\s+EXPIRES IN\s+NEXT RUN\s+REFRESHES\s+LAST RESULT/);
    assert.match(
      stdout,
      /^demo-paypack\s+paypack\s+\w+\s+\S+\s+in (\d+m)?\d+s\s+\d+/m,
      'next run in simulated time',
    );
    assert.match(stdout, /^STATE: last outcome \(refreshed = new token published/m, 'a one-line legend');
    const log = readFileSync(join(stateDir, 'refresher.log'), 'utf8');
    assert.match(log, /"message": "token refreshed"/);
    const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as string[];
    assert.ok(secrets.length >= 8, 'demo credentials and every issued token were recorded');
    assert.deepEqual(
      findLeaks(`${log}\n${stdout}\n${stderr}`, secrets),
      [],
      'no credential or token in the log or on screen',
    );
  });
});
