import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FAULT_CASES } from '../faults/fault-cases.ts';
import { runFaultCase } from '../faults/run-fault-case.ts';
import { World } from '../support/world.ts';

describe('fault matrix: every fault gives its behaviour, its clear error, and loses nothing', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  FAULT_CASES.forEach((testCase, index) => {
    it(`${testCase.group}: ${testCase.name}`, async () => {
      const id = `fault-${String(index + 1).padStart(2, '0')}`;
      const row = await runFaultCase(world, testCase, id);
      const { expected } = testCase;

      assert.equal(row.behaviour, expected.behaviour);
      for (const [route, count] of Object.entries(expected.calls ?? {})) {
        assert.equal(row.routeCalls[route], count, `calls to ${route}`);
      }
      const providerCalls = Object.values(row.routeCalls).reduce((sum, count) => sum + count, 0);
      if (testCase.group === 'secrets manager' || testCase.group === 'configuration') {
        assert.equal(providerCalls, 0, 'nothing reaches the provider');
      }
      if (testCase.setup.target === 'provider' && !testCase.setup.route.startsWith('refresh')) {
        const route = testCase.provider === 'paypack' ? 'authorize' : 'token';
        const attempts = { 'retried, then failed': 3, 'failed fast': 1 }[expected.behaviour as string];
        if (attempts !== undefined) assert.equal(row.routeCalls[route], attempts, `attempts on ${route}`);
      }
      assert.equal(row.leaked, false, 'no secret or token in logs, metrics or errors');
      if (expected.code) {
        assert.equal(row.code, expected.code);
        assert.match(row.error, expected.message ?? /./);
        if (testCase.group !== 'configuration')
          assert.match(row.error, new RegExp(`^source "${id}": `), 'names the source');
        else
          assert.match(row.error, new RegExp(`source "(${id}|REFRESHER_SOURCES\\[0\\])"|REFRESHER_SOURCES`));
        assert.equal(row.lastGoodToken, 'yes', 'the last good token is still published');
      } else {
        assert.equal(row.code, undefined);
        assert.equal(row.lastGoodToken, 'replaced by a new valid token');
        if (expected.message) assert.match(row.error, expected.message);
      }
    });
  });
});
