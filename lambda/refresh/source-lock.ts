import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type CallBudget, sendOptions } from '../aws/bounded-calls.ts';
import { awsErrorName, RefresherError, StoreError } from '../errors.ts';

/** What the run that held the lease did; kept on the source's item for `npm run status`. */
export interface RunRecord {
  status: 'refreshed' | 'fresh' | 'failed';
  code?: string;
}

export interface LockLease {
  /**
   * Proves the lease is still this run's and restarts its clock, so no waiter can
   * take it over for a whole lease from now. Throws LockLostError otherwise.
   */
  renew(): Promise<void>;
  release(record?: RunRecord): Promise<void>;
}

/** Keeps two runs from refreshing one source at once (a Paypack refresh token is single-use). */
export interface SourceLock {
  /**
   * A lease when the lock was free (or its holder is gone); undefined while another run holds it.
   * Every DynamoDB call for it (take, renew, release) ends by the budget's deadline too.
   */
  tryAcquire(key: string, budget?: CallBudget): Promise<LockLease | undefined>;
}

export class LockLostError extends RefresherError {
  readonly code = 'LOCK_LOST';
  /** What went wrong, without the source: a fence repeats it under the source's id. */
  readonly reason: string;
  constructor(sourceId: string, reason: string) {
    super(sourceId, reason);
    this.reason = reason;
  }
}

export interface LockOptions {
  /** Wall-clock ms: written for operators only (`leaseUntil`, `lastRunAt`), never compared with another host's. */
  wall: () => number;
  /** Monotonic ms of this process: the only clock a takeover decision uses. */
  monotonic: () => number;
  /** How often a held lease is renewed; 0 never (tests use it to play a holder that froze). Default: a third of a lease. */
  renewEveryMs?: number;
}

const DEFAULTS: LockOptions = { wall: Date.now, monotonic: () => performance.now() };

/**
 * A lease per source in a DynamoDB table (partition key `sourceId`, here
 * `<provider>/<source id>`), in the manner of dynamodb-lock-client: the holder
 * changes the item's record version number (`rvn`) at least every third of a
 * lease; a waiter takes the lease over only after it has itself watched the
 * same `rvn` for a whole lease on its own monotonic clock. No decision compares
 * two hosts' wall clocks, so a workstation with a fast clock cannot take a live lease.
 */
export class DynamoDbSourceLock implements SourceLock {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseMs: number;
  readonly #clocks: LockOptions;
  /** Per key, the holder's record version this container has watched, and since when (monotonic ms). */
  readonly #watched = new Map<string, { rvn: string; since: number }>();

  constructor(
    client: DynamoDBClient,
    tableName: string,
    leaseMs: number,
    options: Partial<LockOptions> = {},
  ) {
    this.#client = client;
    this.#tableName = tableName;
    this.#leaseMs = leaseMs;
    this.#clocks = { ...DEFAULTS, ...options };
  }

  async tryAcquire(key: string, budget: CallBudget = {}): Promise<LockLease | undefined> {
    const owner = randomUUID();
    // Free: never taken, or released (a release removes the record version).
    const free = 'attribute_not_exists(sourceId) OR attribute_not_exists(rvn)';
    const taken = await this.#take(key, owner, free, budget);
    if (taken === true) return this.#lease(key, owner, budget);
    const holder = taken;
    if (holder.owner === owner) return this.#lease(key, owner, budget); // our own write, retried after a lost answer
    const seen = this.#watched.get(key);
    const now = this.#clocks.monotonic();
    if (!seen || seen.rvn !== holder.rvn) {
      this.#watched.set(key, { rvn: holder.rvn, since: now });
      return undefined;
    }
    if (now - seen.since < holder.leaseMs) return undefined;
    // The holder has not renewed for a whole lease by our own clock: it is gone.
    const takeover = await this.#take(key, owner, 'rvn = :watched', budget, holder.rvn);
    this.#watched.delete(key);
    // As with the first take: a takeover retried after its answer was lost finds itself the holder.
    const ours = takeover === true || takeover.owner === owner;
    return ours ? this.#lease(key, owner, budget) : undefined;
  }

  /** True when taken; otherwise the current holder as DynamoDB reported it. */
  async #take(
    key: string,
    owner: string,
    condition: string,
    budget: CallBudget,
    watchedRvn?: string,
  ): Promise<true | { owner: string; rvn: string; leaseMs: number }> {
    const wall = this.#clocks.wall();
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: { sourceId: { S: key } },
          UpdateExpression:
            'SET #owner = :owner, rvn = :rvn, leaseMs = :leaseMs, leaseUntil = :until, expiresAt = :expires',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':rvn': { S: randomUUID() },
            ':leaseMs': { N: String(this.#leaseMs) },
            ':until': { N: String(wall + this.#leaseMs) },
            ':expires': { N: String(Math.ceil(wall / 1000) + 30 * 86_400) },
            ...(watchedRvn === undefined ? {} : { ':watched': { S: watchedRvn } }),
          },
          // If the SDK retried an update whose first answer was lost, the "holder" may be this very call.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        sendOptions(within(budget, this.#leaseMs)),
      );
      return true;
    } catch (error) {
      const name = awsErrorName(error);
      if (name !== 'ConditionalCheckFailedException') {
        throw new StoreError(key, `could not take the refresh lock in table "${this.#tableName}"`, name);
      }
      const item = (error as { Item?: Record<string, { S?: string; N?: string }> }).Item ?? {};
      return {
        owner: item.owner?.S ?? '',
        rvn: item.rvn?.S ?? '',
        leaseMs: Number(item.leaseMs?.N ?? this.#leaseMs),
      };
    }
  }

  #lease(key: string, owner: string, budget: CallBudget): LockLease {
    const renew = async () => {
      const wall = this.#clocks.wall();
      try {
        await this.#client.send(
          new UpdateItemCommand({
            TableName: this.#tableName,
            Key: { sourceId: { S: key } },
            UpdateExpression: 'SET rvn = :rvn, leaseUntil = :until',
            ConditionExpression: '#owner = :owner AND attribute_exists(rvn)',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':owner': { S: owner },
              ':rvn': { S: randomUUID() },
              ':until': { N: String(wall + this.#leaseMs) },
            },
          }),
          sendOptions(within(budget, this.#leaseMs / 3)),
        );
      } catch (error) {
        throw new LockLostError(key, `the refresh lease could not be renewed (${awsErrorName(error)})`);
      }
    };
    // Heartbeats keep a long run's lease; unref'd so a finished run is never held open by them.
    const every = this.#clocks.renewEveryMs ?? Math.max(1_000, this.#leaseMs / 3);
    const heartbeat = every > 0 ? setInterval(() => renew().catch(() => undefined), every) : undefined;
    heartbeat?.unref();
    return {
      renew,
      release: async (record) => {
        clearInterval(heartbeat);
        const wall = this.#clocks.wall();
        try {
          await this.#client.send(
            new UpdateItemCommand({
              TableName: this.#tableName,
              Key: { sourceId: { S: key } },
              ConditionExpression: '#owner = :owner',
              UpdateExpression:
                'REMOVE rvn SET leaseUntil = :free, lastResult = :result, lastCode = :code, lastRunAt = :now, expiresAt = :expires',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: {
                ':owner': { S: owner },
                ':free': { N: '0' },
                ':result': { S: record?.status ?? 'unknown' },
                ':code': { S: record?.code ?? '-' },
                ':now': { N: String(wall) },
                ':expires': { N: String(Math.ceil(wall / 1000) + 30 * 86_400) },
              },
            }),
            sendOptions(within(budget, 2_000)),
          );
        } catch {
          // Lost the lease already, or DynamoDB is unreachable: without heartbeats it is taken over after a lease.
        }
      },
    };
  }
}

/** The earlier of `ms` from now and the run's own deadline: a lock call never outlives the run. */
function within(budget: CallBudget, ms: number): CallBudget {
  return { deadline: Math.min(Date.now() + ms, budget.deadline ?? Number.POSITIVE_INFINITY) };
}
