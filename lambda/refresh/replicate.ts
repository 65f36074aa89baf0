import type { CallBudget } from '../aws/bounded-calls.ts';
import type { ResolvedSource } from '../config/source-config.ts';
import { RefresherError, StoreError } from '../errors.ts';
import { type PublishedToken, parsePublishedToken, serializePublishedToken } from '../token-contract.ts';
import type { IssueRun } from './refresh-run.ts';
import type { RegionSet, ReplicaRegion } from './regions.ts';
import { LockLostError } from './source-lock.ts';

/** What one replica region holds for a source after this run. */
export interface ReplicaOutcome {
  region: string;
  /** `current`: it already held the home token (or a later one); `updated`: this run wrote it; `behind`: neither. */
  status: 'current' | 'updated' | 'behind';
  /** Life left on the token the replica holds now (0: none, or unknown). */
  secondsRemaining: number;
  /** Why a replica is behind: an AWS error name, ReplicaKeyMissing, Aborted, LOCK_LOST, LOCK_BUSY, NOT_ACTIVE_REGION. */
  code?: string;
}

type ReplicaRun = Pick<IssueRun, 'deps' | 'request' | 'redactor' | 'fence'>;

/**
 * Copies a token just published at home to every replica region, all at once,
 * each within the replica budget: a stalled or failing replica never holds the
 * outcome past it and never fails the home publish. Every attempt is fenced by
 * the run's lease, like the home writes.
 */
export async function publishToReplicas(
  regions: RegionSet,
  source: ResolvedSource,
  token: PublishedToken,
  run: ReplicaRun,
): Promise<ReplicaOutcome[]> {
  const budget = regions.replicaBudget(run.request.storeDeadline);
  return Promise.all(
    regions.replicas.map((replica) => writeReplica(regions, replica, source, token, run, budget)),
  );
}

/**
 * A run that found the home token fresh looks at every replica; one holding an
 * older token (or none) is brought up to date, under the source's lease and only
 * while this region is the active one. A replica that is busy elsewhere, or
 * denied, stays `behind` and is tried again by the next run.
 */
export async function catchUpReplicas(
  regions: RegionSet,
  source: ResolvedSource,
  home: PublishedToken,
  run: Pick<IssueRun, 'deps' | 'request' | 'redactor'>,
  under: { leaseKey: string; readHome: () => Promise<PublishedToken | undefined> },
): Promise<ReplicaOutcome[]> {
  const { deps, request } = run;
  const budget = regions.replicaBudget(request.storeDeadline);
  const seen = await Promise.all(
    regions.replicas.map(async (replica) => ({
      replica,
      held: await readReplica(replica, source, run, budget),
    })),
  );
  const outcomes = new Map<string, ReplicaOutcome>();
  const lagging: ReplicaRegion[] = [];
  for (const { replica, held } of seen) {
    if ('code' in held) outcomes.set(replica.region, { region: replica.region, status: 'behind', ...held });
    else if (held.token && Date.parse(held.token.expiresAt) >= Date.parse(home.expiresAt))
      outcomes.set(replica.region, current(replica, held.token, deps.clock()));
    else lagging.push(replica);
  }
  if (lagging.length > 0) {
    const behind = (code: string) => {
      for (const replica of lagging)
        outcomes.set(replica.region, { region: replica.region, status: 'behind', secondsRemaining: 0, code });
    };
    let lease: Awaited<ReturnType<NonNullable<typeof deps.lock>['tryAcquire']>>;
    try {
      lease = deps.lock
        ? await deps.lock.tryAcquire(under.leaseKey, { deadline: request.storeDeadline })
        : undefined;
    } catch (error) {
      // The home token is fresh whatever the lock table says: only the copies wait for the next run.
      behind(error instanceof RefresherError ? error.code : 'UNEXPECTED');
      return regions.replicas.map((replica) => outcomes.get(replica.region) as ReplicaOutcome);
    }
    if (deps.lock && !lease) {
      // Another run holds the source: it publishes to every replica itself.
      behind('LOCK_BUSY');
    } else {
      try {
        await regions.assertActive(source.id, request.storeDeadline);
        // Another run may have published (and replicated) a later token before this run took the lease.
        const latest = await under.readHome();
        const token = latest && Date.parse(latest.expiresAt) > Date.parse(home.expiresAt) ? latest : home;
        const fence = lease ? () => lease.renew() : async () => {};
        const written = await Promise.all(
          lagging.map((replica) => writeReplica(regions, replica, source, token, { ...run, fence }, budget)),
        );
        for (const outcome of written) outcomes.set(outcome.region, outcome);
      } catch (error) {
        behind(error instanceof RefresherError ? error.code : 'UNEXPECTED');
      } finally {
        await lease?.release({ status: 'fresh' }).catch(() => undefined);
      }
    }
  }
  return regions.replicas.map((replica) => outcomes.get(replica.region) as ReplicaOutcome);
}

async function writeReplica(
  regions: RegionSet,
  replica: ReplicaRegion,
  source: ResolvedSource,
  token: PublishedToken,
  run: ReplicaRun,
  budget: CallBudget,
): Promise<ReplicaOutcome> {
  try {
    const keyArn = await regions.keyArn(source.id, replica, budget);
    await replica.parameters.writeSecure(
      source.id,
      source.parameterName,
      serializePublishedToken(token),
      keyArn,
      budget,
      run.fence,
    );
    return current(replica, token, run.deps.clock(), 'updated');
  } catch (error) {
    // A replaced or deleted key: read its ARN again next time.
    regions.forgetKey(replica.region);
    run.deps.logger.warn('replica region not updated', {
      source: source.id,
      replicaRegion: replica.region,
      code: replicaCode(error),
    });
    return { region: replica.region, status: 'behind', secondsRemaining: 0, code: replicaCode(error) };
  }
}

async function readReplica(
  replica: ReplicaRegion,
  source: ResolvedSource,
  run: Pick<IssueRun, 'redactor'>,
  budget: CallBudget,
): Promise<{ token: PublishedToken | undefined } | { code: string; secondsRemaining: number }> {
  try {
    const stored = await replica.parameters.read(source.id, source.parameterName, budget);
    if (!stored) return { token: undefined };
    run.redactor.add(stored.value);
    const token = parsePublishedToken(stored.value);
    if (token) run.redactor.add(token.token);
    return { token };
  } catch (error) {
    return { code: replicaCode(error), secondsRemaining: 0 };
  }
}

function current(
  replica: ReplicaRegion,
  token: PublishedToken,
  now: number,
  status: 'current' | 'updated' = 'current',
): ReplicaOutcome {
  const secondsRemaining = Math.max(0, Math.floor((Date.parse(token.expiresAt) - now) / 1000));
  return { region: replica.region, status, secondsRemaining };
}

function replicaCode(error: unknown): string {
  if (error instanceof StoreError) return error.awsErrorName;
  if (error instanceof LockLostError) return 'LOCK_LOST';
  return error instanceof RefresherError ? error.code : 'UNEXPECTED';
}
