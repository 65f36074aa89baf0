import type { Logger } from '@aws-lambda-powertools/logger';
import type { WarningCode } from '../errors.ts';
import type { HttpRuntime } from '../http/provider-http-client.ts';
import type { Redactor } from '../redact.ts';
import type { CredentialCache } from './credential-cache.ts';
import type { ParameterStore } from './parameter-store.ts';
import type { RegionSet } from './regions.ts';
import { type LockLease, LockLostError, type SourceLock } from './source-lock.ts';

/** The subset of Powertools Logger the refresh cycle uses. */
export type RefreshLogger = Pick<Logger, 'info' | 'warn'>;

export interface RefreshDependencies {
  parameters: ParameterStore;
  credentials: CredentialCache;
  httpRuntime: HttpRuntime;
  /** Milliseconds since the epoch used for token lifetimes (a simulated clock in local mode). */
  clock: () => number;
  deploymentName: string;
  logger: RefreshLogger;
  /** Serialises runs per source; without it, overlapping runs for one source may both refresh. */
  lock?: SourceLock;
  /** Longest wait for another run's lock before this run fails with LOCK_BUSY. */
  lockWaitMs?: number;
  /** Replica regions and the active-region check (stages with replicaRegions). */
  regions?: RegionSet;
}

export interface RefreshRequest {
  /** Refresh even when the published token is still fresh. */
  force?: boolean;
  /** Wall-clock ms by which provider calls and retries must have stopped. */
  deadline?: number;
  /**
   * Wall-clock ms by which every AWS call (reads, the write-ahead marker, state and
   * token writes, the lock's calls) must have ended: the Lambda's end less a small
   * margin, later than `deadline`, so the bookkeeping after a provider call always has time.
   */
  storeDeadline?: number;
}

/** One source's refresh in progress: its budget, its redactor and its lease, if any. */
export interface IssueRun {
  deps: RefreshDependencies;
  request: RefreshRequest;
  redactor: Redactor;
  lease: LockLease | undefined;
  /**
   * Proves the run still holds the source's lease (a conditional DynamoDB update:
   * the fencing token SSM lacks), or throws LockLostError. Called before every
   * provider call and before every attempt of every write; a no-op without a lock.
   */
  fence: () => Promise<void>;
  /** Codes the provider warned of during this run (see IssueContext.warn). */
  warnings: Set<WarningCode>;
}

export function fenceOf(lease: LockLease | undefined, sourceId: string): () => Promise<void> {
  if (!lease) return async () => {};
  return async () => {
    try {
      await lease.renew();
    } catch (error) {
      // The lease knows only its key; the operator needs the source, and what was not done.
      if (!(error instanceof LockLostError)) throw error;
      throw new LockLostError(
        sourceId,
        `${error.reason}; this run stopped before its next provider call or write`,
      );
    }
  };
}
