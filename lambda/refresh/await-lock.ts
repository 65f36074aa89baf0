import type { CallBudget } from '../aws/bounded-calls.ts';
import { RefresherError, StoreError } from '../errors.ts';
import type { PublishedToken } from '../token-contract.ts';
import type { LockLease, SourceLock } from './source-lock.ts';

export class LockBusyError extends RefresherError {
  readonly code = 'LOCK_BUSY';
}

export interface LockWait {
  lock: SourceLock;
  sourceId: string;
  /** The lease's key in the lock table. */
  key: string;
  /** Reads the currently published token. */
  readLatest: () => Promise<PublishedToken | undefined>;
  /** True when `latest` means another run did the work this one came for. */
  doneByOther: (latest: PublishedToken | undefined) => boolean;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Wall-clock ms after which waiting stops. */
  giveUpAt: number;
  /** The run's store deadline: the lock's DynamoDB calls end by it. */
  budget?: CallBudget;
  pollMs?: number;
}

/**
 * Takes the source's lock, or waits for the run that holds it. While waiting it
 * watches the published token: once the holder has published, this run has
 * nothing left to do and returns that token instead of a lease.
 */
export async function awaitLock(
  wait: LockWait,
): Promise<{ lease: LockLease } | { publishedByOther: PublishedToken }> {
  const pollMs = wait.pollMs ?? 200;
  for (;;) {
    const lease = await wait.lock.tryAcquire(wait.key, wait.budget).catch((error: unknown) => {
      // The lock knows only its key; the operator needs the source.
      if (!(error instanceof StoreError)) throw error;
      throw new StoreError(
        wait.sourceId,
        `could not take the refresh lock "${wait.key}"`,
        error.awsErrorName,
      );
    });
    if (lease) return { lease };
    if (wait.now() + pollMs > wait.giveUpAt) {
      throw new LockBusyError(
        wait.sourceId,
        'another run has held the refresh lock for too long; not refreshing concurrently',
      );
    }
    await wait.sleep(pollMs);
    const latest = await wait.readLatest();
    if (latest && wait.doneByOther(latest)) return { publishedByOther: latest };
  }
}
