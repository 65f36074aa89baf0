import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { awsErrorName, StoreError } from '../errors.ts';

/** What the run that held the lease did; kept on the source's item for `npm run status`. */
export interface RunRecord {
  status: 'refreshed' | 'fresh' | 'failed';
  code?: string;
}

export interface LockLease {
  release(record?: RunRecord): Promise<void>;
}

/** Keeps two runs from refreshing one source at once (a Paypack refresh token is single-use). */
export interface SourceLock {
  /** A lease when the lock was free (or its holder's lease ran out); undefined while another run holds it. */
  tryAcquire(sourceId: string): Promise<LockLease | undefined>;
}

/**
 * A lease per source in a DynamoDB table (partition key `sourceId`), taken with a
 * conditional write: free, or its lease expired. The lease outlives the Lambda
 * timeout, so a run that dies without releasing blocks the source only until its
 * lease ends; `expiresAt` (epoch seconds) lets DynamoDB TTL clean old items.
 */
export class DynamoDbSourceLock implements SourceLock {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseMs: number;
  readonly #now: () => number;

  constructor(client: DynamoDBClient, tableName: string, leaseMs: number, now: () => number = Date.now) {
    this.#client = client;
    this.#tableName = tableName;
    this.#leaseMs = leaseMs;
    this.#now = now;
  }

  async tryAcquire(sourceId: string): Promise<LockLease | undefined> {
    const owner = randomUUID();
    const now = this.#now();
    const leaseUntil = now + this.#leaseMs;
    try {
      await this.#client.send(
        // An update rather than a put: the item keeps the last run's result for `npm run status`.
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: { sourceId: { S: sourceId } },
          UpdateExpression: 'SET #owner = :owner, leaseUntil = :until, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(sourceId) OR leaseUntil < :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':until': { N: String(leaseUntil) },
            ':expires': { N: String(Math.ceil(leaseUntil / 1000) + 30 * 86_400) },
            ':now': { N: String(now) },
          },
          // If the SDK retried an update whose first answer was lost, the "holder" may be this very call.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      const name = awsErrorName(error);
      if (name === 'ConditionalCheckFailedException') {
        const holder = (error as { Item?: { owner?: { S?: string } } }).Item?.owner?.S;
        if (holder !== owner) return undefined;
      } else {
        throw new StoreError(sourceId, `could not take the refresh lock in table "${this.#tableName}"`, name);
      }
    }
    return this.#lease(sourceId, owner);
  }

  /**
   * Releasing ends the lease (leaseUntil 0) and keeps the run's result on the
   * item, so operators can see each source's last refresh result.
   */
  #lease(sourceId: string, owner: string): LockLease {
    return {
      release: async (record) => {
        const now = this.#now();
        try {
          await this.#client.send(
            new UpdateItemCommand({
              TableName: this.#tableName,
              Key: { sourceId: { S: sourceId } },
              ConditionExpression: '#owner = :owner',
              UpdateExpression:
                'SET leaseUntil = :free, lastResult = :result, lastCode = :code, lastRunAt = :now, expiresAt = :expires',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: {
                ':owner': { S: owner },
                ':free': { N: '0' },
                ':result': { S: record?.status ?? 'unknown' },
                ':code': { S: record?.code ?? '-' },
                ':now': { N: String(now) },
                ':expires': { N: String(Math.ceil(now / 1000) + 30 * 86_400) },
              },
            }),
          );
        } catch {
          // Lost the lease already, or DynamoDB is unreachable: the lease expires on its own.
        }
      },
    };
  }
}
