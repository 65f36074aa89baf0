import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeOutcome } from '../../scripts/ops/describe-outcome.ts';

const base = { sourceId: 'payroll-api', provider: 'oauth2', secondsRemaining: 120 };
const expiresAt = '2026-11-23T13:00:00.000Z';

describe('npm run refresh output', () => {
  it('names each warning with its runbook section after a refresh that warned', () => {
    assert.deepEqual(
      describeOutcome(
        'payroll-api',
        { ...base, status: 'refreshed', expiresAt, warnings: ['TOKEN_SHORTER_THAN_EXPECTED'] },
        'local mode',
      ),
      {
        stream: 'stdout',
        line: `payroll-api: refreshed, expires ${expiresAt} (local mode); warnings: TOKEN_SHORTER_THAN_EXPECTED (docs/runbook.md#token_shorter_than_expected)`,
      },
    );
    assert.equal(
      describeOutcome('payroll-api', { ...base, status: 'refreshed', expiresAt }, 'local mode').line,
      `payroll-api: refreshed, expires ${expiresAt} (local mode)`,
    );
  });

  it('sends a failure to stderr with its code and runbook section', () => {
    assert.deepEqual(
      describeOutcome(
        'payroll-api',
        { ...base, status: 'failed', error: { code: 'LOCK_BUSY', message: 'source "payroll-api": busy' } },
        'local mode',
      ),
      {
        stream: 'stderr',
        line: 'payroll-api: failed: LOCK_BUSY: source "payroll-api": busy (docs/runbook.md#lock_busy)',
      },
    );
  });
});
