import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SandboxServer } from '../sandboxes/sandbox-server.ts';

describe('sandbox call log', () => {
  it('logs a call on arrival, before its reply is ready, and fills in the status on reply', async () => {
    const server = new SandboxServer(() => ({ status: 404, body: {} }), Date.now);
    let handlerStarted!: () => void;
    const started = new Promise<void>((resolve) => (handlerStarted = resolve));
    let finishReply!: () => void;
    const replyReady = new Promise<void>((resolve) => (finishReply = resolve));
    server.route('slow', 'GET', /^\/slow$/, async () => {
      handlerStarted();
      await replyReady;
      return { status: 201, body: { ok: true } };
    });
    await server.start();
    const response = fetch(`${server.origin}/slow`);
    try {
      await started;
      // A fault case kills its client here (the provider has spent the token, the answer is not made yet).
      assert.deepEqual(
        server.callsTo('slow').map((call) => call.status),
        [0],
      );
      finishReply();
      assert.equal((await response).status, 201);
      assert.deepEqual(
        server.callsTo('slow').map((call) => call.status),
        [201],
      );
    } finally {
      finishReply();
      await response.catch(() => undefined);
      await server.stop();
    }
  });
});
