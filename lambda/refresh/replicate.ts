import type { CallBudget } from '../aws/bounded-calls.ts';
import type { ResolvedSource } from '../config/source-config.ts';
import { RefresherError, StoreError } from '../errors.ts';
import { type PublishedToken, parsePublishedToken, serializePublishedToken } from '../token-contract.ts';
import { fenceOf, type IssueRun } from './refresh-run.ts';
import type { RegionSet, ReplicaRegion } from './regions.ts';

/** What one replica region holds for a source after this run. */
export interface ReplicaOutcome {
  region: string;
  /** `current`: it already held the home token (or a later one); `updated`: this run wrote it; `behind`: neither. */
  status: 'current' | 'updated' | 'behind';
  /** Life left on the token the replica holds now (0: none); left out when a failed write leaves it unknown. */
  secondsRemaining?: number;
  /**
   * Why a replica is behind: an AWS error name, ReplicaKeyMissing, Aborted, Stalled (skipped: the region
   * left a call of this container unanswered within the last minute), LOCK_LOST, LOCK_BUSY, NOT_ACTIVE_REGION.
   */
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
      held: await readReplica(regions, replica, source, run, budget),
    })),
  );
  const outcomes = new Map<string, ReplicaOutcome>();
  const lagging: { replica: ReplicaRegion; held: PublishedToken | undefined }[] = [];
  for (const { replica, held } of seen) {
    if ('code' in held)
      outcomes.set(replica.region, { region: replica.region, status: 'behind', code: held.code });
    else if (held.token && Date.parse(held.token.expiresAt) >= Date.parse(home.expiresAt))
      outcomes.set(replica.region, copyOutcome(replica, held.token, deps.clock()));
    else lagging.push({ replica, held: held.token });
  }
  if (lagging.length === 0) return inOrder(regions, outcomes);
  // A copy that stays behind still holds what was read: its life left is known.
  const behind = (code: string) => {
    for (const { replica, held } of lagging)
      outcomes.set(replica.region, { ...copyOutcome(replica, held, deps.clock(), 'behind'), code });
  };
  let lease: Awaited<ReturnType<NonNullable<typeof deps.lock>['tryAcquire']>>;
  try {
    lease = deps.lock
      ? await deps.lock.tryAcquire(under.leaseKey, { deadline: request.storeDeadline })
      : undefined;
  } catch (error) {
    // The home token is fresh whatever the lock table says: only the copies wait for the next run.
    behind(error instanceof RefresherError ? error.code : 'UNEXPECTED');
    return inOrder(regions, outcomes);
  }
  if (deps.lock && !lease) {
    // Another run holds the source: it publishes to every replica itself.
    behind('LOCK_BUSY');
    return inOrder(regions, outcomes);
  }
  try {
    const fence = fenceOf(lease, source.id);
    await regions.assertActive(source.id, request.storeDeadline, fence);
    // Another run may have published (and replicated) a later token before this run took the lease.
    const latest = await under.readHome();
    const token = latest && Date.parse(latest.expiresAt) > Date.parse(home.expiresAt) ? latest : home;
    // A budget of its own: the reads, the lease and the marker may have used the first one up.
    const writeBudget = regions.replicaBudget(request.storeDeadline);
    const written = await Promise.all(
      lagging.map(async ({ replica, held }) => {
        const outcome = await writeReplica(regions, replica, source, token, { ...run, fence }, writeBudget);
        return outcome.status === 'behind'
          ? { ...copyOutcome(replica, held, deps.clock(), 'behind'), ...outcome }
          : outcome;
      }),
    );
    for (const outcome of written) outcomes.set(outcome.region, outcome);
  } catch (error) {
    behind(error instanceof RefresherError ? error.code : 'UNEXPECTED');
  } finally {
    await lease?.release({ status: 'fresh' }).catch(() => undefined);
  }
  return inOrder(regions, outcomes);
}

function inOrder(regions: RegionSet, outcomes: Map<string, ReplicaOutcome>): ReplicaOutcome[] {
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
  if (regions.stalled(replica.region)) return { region: replica.region, status: 'behind', code: 'Stalled' };
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
    return copyOutcome(replica, token, run.deps.clock(), 'updated');
  } catch (error) {
    const code = replicaCode(error);
    // A replaced or deleted key: read its ARN again next time. A region that did not answer is skipped a while.
    regions.forgetKey(replica.region);
    regions.noteFailure(replica.region, code);
    run.deps.logger.warn('replica region not updated', {
      source: source.id,
      replicaRegion: replica.region,
      code,
    });
    return { region: replica.region, status: 'behind', code };
  }
}

async function readReplica(
  regions: RegionSet,
  replica: ReplicaRegion,
  source: ResolvedSource,
  run: Pick<IssueRun, 'redactor'>,
  budget: CallBudget,
): Promise<{ token: PublishedToken | undefined } | { code: string }> {
  if (regions.stalled(replica.region)) return { code: 'Stalled' };
  try {
    const stored = await replica.parameters.read(source.id, source.parameterName, budget);
    if (!stored) return { token: undefined };
    run.redactor.add(stored.value);
    const token = parsePublishedToken(stored.value);
    if (token) run.redactor.add(token.token);
    return { token };
  } catch (error) {
    const code = replicaCode(error);
    regions.noteFailure(replica.region, code);
    return { code };
  }
}

function copyOutcome(
  replica: ReplicaRegion,
  token: PublishedToken | undefined,
  now: number,
  status: ReplicaOutcome['status'] = 'current',
): ReplicaOutcome {
  const secondsRemaining = token ? Math.max(0, Math.floor((Date.parse(token.expiresAt) - now) / 1000)) : 0;
  return { region: replica.region, status, secondsRemaining };
}

function replicaCode(error: unknown): string {
  if (error instanceof StoreError) return error.awsErrorName;
  return error instanceof RefresherError ? error.code : 'UNEXPECTED';
}
