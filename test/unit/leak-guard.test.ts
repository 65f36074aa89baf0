import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

describe('leak detector', () => {
  it('fails a test file whose tests pass but whose logs contain a registered token', () => {
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './test/support/leak-guard.ts',
        '--test',
        'test/fixtures/leaky.fixture.ts',
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
    );
    assert.notEqual(run.status, 0, run.stdout);
    assert.match(
      run.stdout,
      /leak detector: 1 secret\(s\) or token\(s\) appeared in captured output: eyJh… \(67 chars\)/,
    );
    assert.doesNotMatch(
      run.stdout.replace(/"token": "eyJ[^"]*"/g, ''),
      /c2lnbmF0dXJlLXRoYXQtbGVha3M/,
      'the report does not repeat the token',
    );
  });
});
