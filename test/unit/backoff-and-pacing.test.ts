import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WritePacer } from '../../lambda/refresh/write-pacer.ts';

describe('WritePacer', () => {
  it('spaces writes 1/rate apart, however many callers arrive at once', async () => {
    let now = 0;
    const starts: number[] = [];
    const pacer = new WritePacer(
      4,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    for (let i = 0; i < 5; i++) {
      await pacer.turn();
      starts.push(now);
    }
    assert.deepEqual(starts, [0, 250, 500, 750, 1000]);
  });

  it('does not delay a write after a quiet spell', async () => {
    let now = 0;
    const pacer = new WritePacer(
      1,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    await pacer.turn();
    now = 10_000;
    await pacer.turn();
    assert.equal(now, 10_000);
  });

  it('refuses a turn that would come after the deadline, without waiting for it', async () => {
    let now = 0;
    const pacer = new WritePacer(
      1,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    assert.equal(await pacer.turn(5_000), true);
    assert.equal(await pacer.turn(500), false);
    assert.equal(now, 0, 'no time spent on a refused turn');
    assert.equal(await pacer.turn(5_000), true);
    assert.equal(now, 1_000);
  });
});
