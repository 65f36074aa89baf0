import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { DynamoDbSourceLock } from '../../lambda/refresh/source-lock.ts';
import { parsePublishedToken, serializePublishedToken } from '../../lambda/token-contract.ts';
import { createLockTable, readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

const CONCURRENT_RUNS = 20;

describe('overlapping runs for one source (DynamoDB lease lock, against moto and the sandbox)', () => {
  let world: World;
  before(async () => {
    world = await World.start();
    await createLockTable(world.aws.dynamodb, 'refresh-locks');
  });
  after(async () => {
    await world.stop();
  });

  /** 20 scheduled runs arrive together for a source whose published token is due (a minute left). */
  async function concurrentRuns(env: Record<string, string>) {
    const source = await world.paypackSource();
    const handler = world.handler({ env });
    await handler({ sources: [source] });
    const published = parsePublishedToken(
      (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
    );
    assert.ok(published);
    const due = { ...published, expiresAt: new Date(Date.now() + 60_000).toISOString() };
    await world.aws.ssm.send(
      new PutParameterCommand({
        Name: source.parameterName,
        Value: serializePublishedToken(due),
        Type: 'SecureString',
        Overwrite: true,
      }),
    );
    const before = {
      authorize: world.paypack.server.callsTo('authorize').length,
      refresh: world.paypack.server.callsTo('refresh-sdk').length,
    };

    const results = await Promise.allSettled(
      Array.from({ length: CONCURRENT_RUNS }, () => handler({ sources: [source] })),
    );

    const issuedCalls =
      world.paypack.server.callsTo('authorize').length -
      before.authorize +
      world.paypack.server.callsTo('refresh-sdk').length -
      before.refresh;
    return { source, results, issuedCalls };
  }

  it(`${CONCURRENT_RUNS} runs at once for a due token issue exactly one new token`, async () => {
    const { source, results, issuedCalls } = await concurrentRuns({ REFRESHER_LOCK_TABLE: 'refresh-locks' });

    assert.equal(issuedCalls, 1, 'one provider call in all');
    assert.deepEqual(world.paypack.reusedRefreshTokens, []);
    const statuses = results.map((result) =>
      result.status === 'fulfilled' ? result.value.outcomes[0]?.status : 'rejected',
    );
    assert.equal(statuses.filter((status) => status === 'refreshed').length, 1);
    assert.equal(statuses.filter((status) => status === 'fresh').length, CONCURRENT_RUNS - 1);
    const published = parsePublishedToken(
      (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
    );
    assert.ok(published && (await world.paypack.isLive(published.token)), 'final value is a live token');
    assert.equal(published.token, world.paypack.issued.at(-2), 'it is the one token issued');
  });

  it('without the lock the same burst refreshes more than once (the test can tell)', async () => {
    const { issuedCalls } = await concurrentRuns({});
    assert.ok(issuedCalls > 1, `expected several provider calls, saw ${issuedCalls}`);
  });
});

describe('DynamoDbSourceLock lease rules (moto)', () => {
  let world: World;
  before(async () => {
    world = await World.start();
    await createLockTable(world.aws.dynamodb, 'lease-rules');
  });
  after(async () => {
    await world.stop();
  });

  it('takes over only after watching an unrenewed lease for a whole lease on its own clock; a stale holder cannot release the new one', async () => {
    let watcherClock = 0;
    const frozenHolder = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 1000, { renewEveryMs: 0 });
    const watcher = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 1000, {
      monotonic: () => watcherClock,
    });
    const first = await frozenHolder.tryAcquire('paypack/s1');
    assert.ok(first);
    assert.equal(await watcher.tryAcquire('paypack/s1'), undefined, 'held: first sight of this lease');
    const other = await watcher.tryAcquire('papaya/s1');
    assert.ok(other, 'other keys are independent');
    await other.release();
    watcherClock += 999;
    assert.equal(await watcher.tryAcquire('paypack/s1'), undefined, 'not yet a whole lease');
    watcherClock += 2;
    const second = await watcher.tryAcquire('paypack/s1');
    assert.ok(second, 'unrenewed for a whole lease: taken over');
    await first.release();
    assert.equal(
      await watcher.tryAcquire('paypack/s1'),
      undefined,
      'the stale release did not free the new lease',
    );
    await second.release();
    const third = await watcher.tryAcquire('paypack/s1');
    assert.ok(third, 'free after its holder released it');
    await third.release();
  });

  it('never takes a renewed lease, whatever the clocks say (a workstation 10 minutes fast)', async () => {
    let watcherClock = 0;
    const holder = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 1000, { renewEveryMs: 0 });
    const fastWorkstation = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 1000, {
      wall: () => Date.now() + 600_000,
      monotonic: () => watcherClock,
    });
    const lease = await holder.tryAcquire('paypack/skew');
    assert.ok(lease);
    for (let round = 0; round < 4; round++) {
      assert.equal(await fastWorkstation.tryAcquire('paypack/skew'), undefined, `round ${round}: held`);
      watcherClock += 600;
      await lease.renew();
    }
    watcherClock += 10_000;
    assert.equal(
      await fastWorkstation.tryAcquire('paypack/skew'),
      undefined,
      'a new record version restarts the watch',
    );
    await lease.release();
    const freed = await fastWorkstation.tryAcquire('paypack/skew');
    assert.ok(freed, 'free once released');
    await freed.release();
  });

  it('a holder that lost its lease learns it when it renews', async () => {
    let watcherClock = 0;
    const frozenHolder = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 1000, { renewEveryMs: 0 });
    const watcher = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 1000, {
      monotonic: () => watcherClock,
    });
    const lost = await frozenHolder.tryAcquire('paypack/lost');
    assert.ok(lost);
    assert.equal(await watcher.tryAcquire('paypack/lost'), undefined);
    watcherClock += 1001;
    const taken = await watcher.tryAcquire('paypack/lost');
    assert.ok(taken);
    await assert.rejects(lost.renew(), { code: 'LOCK_LOST' });
    await taken.release();
  });

  it('recognises its own lease when the answer to a successful put was lost and the SDK retried', async () => {
    const lock = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 60_000);
    world.awsFaults.inject('UpdateItem', { kind: 'lose-response' }, 1);
    const putsBefore = world.awsFaults.calls.get('UpdateItem') ?? 0;
    const lease = await lock.tryAcquire('lost-answer');
    assert.ok(lease, 'acquired, not mistaken for another run');
    assert.equal((world.awsFaults.calls.get('UpdateItem') ?? 0) - putsBefore, 2, 'the SDK retried the put');
    assert.equal(await lock.tryAcquire('lost-answer'), undefined, 'and it really is held');
    await lease.release();
  });

  it('a takeover whose answer was lost and retried by the SDK recognises itself as the holder', async () => {
    let watcherClock = 0;
    const frozenHolder = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 1000, { renewEveryMs: 0 });
    const watcher = new DynamoDbSourceLock(world.aws.dynamodb, 'lease-rules', 1000, {
      monotonic: () => watcherClock,
    });
    assert.ok(await frozenHolder.tryAcquire('paypack/lost-takeover'));
    assert.equal(await watcher.tryAcquire('paypack/lost-takeover'), undefined, 'held: first sight');
    watcherClock += 1001;
    // The free-take attempt fails its condition (answered); the takeover's first answer is lost.
    world.awsFaults.inject('UpdateItem', { kind: 'lose-response' }, 1, 1);
    const updatesBefore = world.awsFaults.calls.get('UpdateItem') ?? 0;
    const taken = await watcher.tryAcquire('paypack/lost-takeover');
    assert.equal(
      (world.awsFaults.calls.get('UpdateItem') ?? 0) - updatesBefore,
      3,
      'take, takeover, its retry',
    );
    assert.ok(taken, 'the takeover landed: this run holds the lease');
    await taken.release();
  });
});
