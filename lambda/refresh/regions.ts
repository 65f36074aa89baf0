import type { CallBudget } from '../aws/bounded-calls.ts';
import { RefresherError, StoreError } from '../errors.ts';
import type { ParameterStore } from './parameter-store.ts';

/**
 * The other regions a deployment publishes its tokens to, and which region is
 * the active one. SSM has no replication: the active region's functions copy each
 * token to the same parameter name in every replica region, encrypted with that
 * region's own key (found at `<prefix>/meta/key-arn` there). Private state never leaves.
 */
export interface ReplicaRegion {
  region: string;
  /** That region's Parameter Store. */
  parameters: ParameterStore;
}

/** `<prefix>/meta/active-region`: which region refreshes; written by `npm run failover`, never by CloudFormation. */
export interface ActiveRegionMarker {
  region: string;
  /** Raised by one at every failover: the highest generation found in any reachable region wins. */
  generation: number;
}

/** Longest wait for a replica region's active-region marker before a refresh. */
const MARKER_READ_MS = 2_000;
/** How long a region that left a call unanswered is skipped by this container. */
const STALLED_SKIP_MS = 60_000;
/** Error names of a call that got no answer: cut by the budget, timed out, or no connection. */
const UNANSWERED =
  /^(Aborted|TimeoutError|RequestTimeout|ECONN\w+|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)$/;

export function activeRegionParameterName(prefix: string): string {
  return `${prefix}/meta/active-region`;
}

export function replicaKeyParameterName(prefix: string): string {
  return `${prefix}/meta/key-arn`;
}

/** The run stands down: another region is the active one (or this standby was never made active). */
export class NotActiveRegionError extends RefresherError {
  readonly code = 'NOT_ACTIVE_REGION';
}

export function parseMarker(text: string | undefined): ActiveRegionMarker | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ActiveRegionMarker>;
    if (typeof value.region !== 'string' || !Number.isSafeInteger(value.generation)) return undefined;
    return { region: value.region, generation: value.generation as number };
  } catch {
    return undefined;
  }
}

/** Highest generation wins; regions that did not answer (undefined) have no say. */
export function winningMarker(markers: (ActiveRegionMarker | undefined)[]): ActiveRegionMarker | undefined {
  let best: ActiveRegionMarker | undefined;
  for (const marker of markers) if (marker && (!best || marker.generation > best.generation)) best = marker;
  return best;
}

export interface RegionSetOptions {
  /** The region this function runs in. */
  region: string;
  home: ParameterStore;
  replicas: ReplicaRegion[];
  prefix: string;
  /** Active when no region holds a marker: the home deployment yes, a standby no. */
  activeByDefault: boolean;
  /** Longest a replica's reads and writes may take in one run (never past the store deadline). */
  replicaTimeoutMs: number;
  now?: () => number;
  /** The clock a stalled region is skipped by (the handler's: a simulated one in simulations). */
  clock?: () => number;
}

/** This deployment's regions: the replica stores, their keys, and the active-region check. */
export class RegionSet {
  readonly region: string;
  readonly replicas: readonly ReplicaRegion[];
  readonly #options: RegionSetOptions;
  readonly #keyArns = new Map<string, string>();
  readonly #stalledUntil = new Map<string, number>();

  constructor(options: RegionSetOptions) {
    this.region = options.region;
    this.replicas = options.replicas;
    this.#options = options;
  }

  /** A replica's calls end at the store deadline or after the replica timeout, whichever is first. */
  replicaBudget(storeDeadline: number | undefined, timeoutMs = this.#options.replicaTimeoutMs): CallBudget {
    const cap = (this.#options.now ?? Date.now)() + timeoutMs;
    return { deadline: storeDeadline === undefined ? cap : Math.min(storeDeadline, cap) };
  }

  /** The replica's own key ARN, read once per container (dropped again after a failed write). */
  async keyArn(sourceId: string, replica: ReplicaRegion, budget: CallBudget): Promise<string> {
    const cached = this.#keyArns.get(replica.region);
    if (cached) return cached;
    const name = replicaKeyParameterName(this.#options.prefix);
    const stored = await replica.parameters.read(sourceId, name, budget);
    if (!stored?.value.startsWith('arn:')) {
      throw new StoreError(
        sourceId,
        `replica region ${replica.region} has no key ARN at "${name}" (deploy the stage's replica stack there)`,
        'ReplicaKeyMissing',
      );
    }
    this.#keyArns.set(replica.region, stored.value);
    return stored.value;
  }

  forgetKey(region: string): void {
    this.#keyArns.delete(region);
  }

  /**
   * True for a while after a region left a call unanswered: its calls are then skipped at once, so a
   * stalled region costs one replica timeout per container a minute, not one per source of a batch.
   */
  stalled(region: string): boolean {
    return (this.#stalledUntil.get(region) ?? 0) > this.#now();
  }

  noteFailure(region: string, code: string): void {
    if (UNANSWERED.test(code)) this.#stalledUntil.set(region, this.#now() + STALLED_SKIP_MS);
  }

  #now(): number {
    return (this.#options.clock ?? this.#options.now ?? Date.now)();
  }

  /**
   * Throws NotActiveRegionError unless this region is the active one, as the
   * markers of every region that answers in time say. The check reads before
   * each refresh and each catch-up write, so a region that comes back from an
   * outage after a failover stands down instead of refreshing beside the new one.
   * The active region also copies its marker to every region that answered with
   * an older one (or none, after a failover): a region that was unreachable
   * during the failover then finds in its own marker that it must stand down,
   * even when it cannot read the others. Those writes are fenced like any other.
   */
  async assertActive(
    sourceId: string,
    storeDeadline: number | undefined,
    fence?: () => Promise<void>,
  ): Promise<void> {
    const name = activeRegionParameterName(this.#options.prefix);
    const homeBudget = { deadline: storeDeadline };
    // A stalled replica region has no say after a short wait: it must not eat the provider's time.
    const replicaBudget = this.replicaBudget(
      storeDeadline,
      Math.min(MARKER_READ_MS, this.#options.replicaTimeoutMs),
    );
    const [own, ...others] = await Promise.all([
      this.#options.home.read(sourceId, name, homeBudget).then((stored) => ({ answered: true, stored })),
      // A region that does not answer has no say (docs/regions.md, "Limits"), and is skipped a while.
      ...this.replicas.map(async (replica) => {
        if (this.stalled(replica.region)) return { answered: false, stored: undefined };
        try {
          return { answered: true, stored: await replica.parameters.read(sourceId, name, replicaBudget) };
        } catch (error) {
          this.noteFailure(replica.region, error instanceof StoreError ? error.awsErrorName : '');
          return { answered: false, stored: undefined };
        }
      }),
    ]);
    const markers = [own, ...others].map(({ stored }) => parseMarker(stored?.value));
    const winner = winningMarker(markers);
    const active = winner ? winner.region === this.region : this.#options.activeByDefault;
    if (!active) {
      throw new NotActiveRegionError(
        sourceId,
        winner
          ? `region ${winner.region} is the active region (failover generation ${winner.generation}), not ${this.region}: this run stands down; disable this region's schedules with npm run failover -- --to ${winner.region}`
          : `${this.region} is a standby and no failover has made it active: this run stands down (npm run failover -- --to ${this.region})`,
      );
    }
    if (!winner) return;
    const behind = this.replicas.filter((_, index) => {
      const answer = others[index];
      const marker = markers[index + 1];
      return answer?.answered === true && (marker?.generation ?? -1) < winner.generation;
    });
    const value = JSON.stringify({ ...winner, copiedBy: this.region });
    await Promise.all(
      behind.map((replica) =>
        replica.parameters
          .writeString(sourceId, name, value, this.replicaBudget(storeDeadline), fence)
          .catch((error: unknown) => {
            // Best effort: the command writes it too; a lost lease still ends the run.
            if (error instanceof RefresherError && error.code === 'LOCK_LOST') throw error;
          }),
      ),
    );
  }
}
