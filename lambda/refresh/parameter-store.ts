import {
  GetParameterCommand,
  ParameterTier,
  ParameterType,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { budgetSpent, type CallBudget, sendOptions } from '../aws/bounded-calls.ts';
import { awsErrorName, RefresherError, StoreError } from '../errors.ts';
import type { WritePacer } from './write-pacer.ts';

export interface StoredParameter {
  value: string;
  version: number;
}

/**
 * Standard-tier SecureStrings hold 4 KB. The tier is always named: without it
 * PutParameter uses the account's default, and an Advanced default would need
 * kms:GenerateDataKey (envelope encryption), which the refresher is not granted.
 */
export const STANDARD_TIER_MAX_BYTES = 4096;

/** SecureString reads and writes. Errors keep only the AWS error name: SSM messages can echo the value sent. */
export class ParameterStore {
  readonly #client: SSMClient;
  readonly #pacer: WritePacer | undefined;

  constructor(client: SSMClient, pacer?: WritePacer) {
    this.#client = client;
    this.#pacer = pacer;
  }

  /** The decrypted value, or undefined when the parameter does not exist yet. */
  async read(sourceId: string, name: string, budget?: CallBudget): Promise<StoredParameter | undefined> {
    try {
      const { Parameter } = await this.#client.send(
        new GetParameterCommand({ Name: name, WithDecryption: true }),
        sendOptions(budget),
      );
      if (Parameter?.Value === undefined) return undefined;
      return { value: Parameter.Value, version: Parameter.Version ?? 0 };
    } catch (error) {
      const awsName = awsErrorName(error);
      if (awsName === 'ParameterNotFound') return undefined;
      throw storeError(sourceId, `could not read SSM parameter "${name}"`, error, budget);
    }
  }

  /** A plain String parameter (the active-region marker), every attempt guarded like writeSecure's. */
  async writeString(
    sourceId: string,
    name: string,
    value: string,
    budget?: CallBudget,
    guard?: () => Promise<void>,
  ): Promise<void> {
    const command = new PutParameterCommand({
      Name: name,
      Value: value,
      Type: ParameterType.STRING,
      Tier: ParameterTier.STANDARD,
      Overwrite: true,
    });
    if (guard) guardEachAttempt(command, guard);
    try {
      await this.#client.send(command, sendOptions(budget));
    } catch (error) {
      throw storeError(sourceId, `could not write SSM parameter "${name}"`, error, budget);
    }
  }

  async writeSecure(
    sourceId: string,
    name: string,
    value: string,
    kmsKeyId: string | undefined,
    budget?: CallBudget,
    /**
     * Runs before each attempt of the write (the SDK's retries too, after any
     * pacing wait) and may refuse it by throwing: a lease fence, a time check.
     */
    guard?: () => Promise<void>,
  ): Promise<number> {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > STANDARD_TIER_MAX_BYTES) {
      throw new StoreError(
        sourceId,
        `the value for SSM parameter "${name}" is ${bytes} bytes; a Standard-tier parameter holds at most ${STANDARD_TIER_MAX_BYTES}`,
        'ValueTooLarge',
      );
    }
    if (this.#pacer && !(await this.#pacer.turn(budget?.deadline))) {
      throw new StoreError(
        sourceId,
        `could not write SSM parameter "${name}" within the time budget`,
        'WritePacing',
      );
    }
    const command = new PutParameterCommand({
      Name: name,
      Value: value,
      Type: ParameterType.SECURE_STRING,
      Tier: ParameterTier.STANDARD,
      Overwrite: true,
      ...(kmsKeyId ? { KeyId: kmsKeyId } : {}),
    });
    if (guard) guardEachAttempt(command, guard);
    try {
      const { Version } = await this.#client.send(command, sendOptions(budget));
      return Version ?? 0;
    } catch (error) {
      throw storeError(sourceId, `could not write SSM parameter "${name}"`, error, budget);
    }
  }
}

/** The deserialize step runs inside the retry loop: the guard runs once per attempt. */
function guardEachAttempt(command: PutParameterCommand, guard: () => Promise<void>): void {
  command.middlewareStack.add(
    (next) => async (args) => {
      await guard();
      return next(args);
    },
    { step: 'deserialize', name: 'guardEachAttempt' },
  );
}

function storeError(
  sourceId: string,
  what: string,
  error: unknown,
  budget: CallBudget | undefined,
): RefresherError {
  if (error instanceof RefresherError) return error; // a guard's refusal, as it was
  if (budgetSpent(budget)) {
    return new StoreError(sourceId, `${what}: no answer before the run's time budget ran out`, 'Aborted');
  }
  return new StoreError(sourceId, what, awsErrorName(error));
}
