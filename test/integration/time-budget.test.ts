import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RefreshRunError } from '../../lambda/handlers/create-refresh-handler.ts';
import type { Fault } from '../sandboxes/sandbox-server.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { World } from '../support/world.ts';

describe('time budget: retries and backoff stop before the Lambda runs out', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  async function publishedSource(marginMs: number) {
    const source = await world.papayaSource();
    const handler = world.handler({ env: { REFRESHER_SAFETY_MARGIN_MS: String(marginMs) } });
    await handler({ sources: [source] });
    return { source, handler };
  }

  /** A forced refresh with a 6 s Lambda context: its failed outcome, elapsed time and provider calls. */
  async function refreshWithin(marginMs: number, fault: Fault) {
    const { source, handler } = await publishedSource(marginMs);
    world.papaya.server.inject('token', fault);
    const callsBefore = world.papaya.server.callsTo('token').length;
    const started = Date.now();
    const error = (await handler({ sources: [source], force: true }, lambdaContext(6_000)).catch(
      (thrown) => thrown,
    )) as RefreshRunError;
    const elapsed = Date.now() - started;
    world.papaya.server.clearFaults();
    const outcome = error.outcomes?.[0];
    assert.ok(outcome?.status === 'failed');
    return { outcome, elapsed, calls: world.papaya.server.callsTo('token').length - callsBefore };
  }

  it('cuts a hanging provider call at the budget instead of the 5 s attempt timeout, and makes no further attempt', async () => {
    const { outcome, elapsed, calls } = await refreshWithin(4_000, { kind: 'hang' });
    assert.equal(outcome.error.code, 'DEADLINE_EXCEEDED');
    assert.match(
      outcome.error.message,
      /stopped before the Lambda time budget ran out; last attempt: no complete answer within \d+ ms/,
    );
    // Without the budget the hang would last the whole 5 s attempt timeout, then be retried.
    assert.ok(elapsed < 4_000, `returned after ${elapsed} ms: the 2 s budget, not the 5 s timeout`);
    assert.equal(calls, 1);
  });

  it('does not sleep out a Retry-After that would end past the budget', async () => {
    const { outcome, elapsed, calls } = await refreshWithin(3_000, {
      kind: 'status',
      status: 429,
      body: { error: 'slow down' },
      headers: { 'Retry-After': '2' },
    });
    assert.equal(outcome.error.code, 'DEADLINE_EXCEEDED');
    assert.equal(calls, 2, 'one retry fitted in the 3 s budget, a second did not');
    // A third attempt would have meant sleeping past 4 s.
    assert.ok(elapsed < 3_900, `returned after ${elapsed} ms`);
  });
});
