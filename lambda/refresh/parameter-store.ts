import { GetParameterCommand, ParameterType, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { awsErrorName, StoreError } from '../errors.ts';
import type { WritePacer } from './write-pacer.ts';

export interface StoredParameter {
  value: string;
  version: number;
}

/** SecureString reads and writes. Errors keep only the AWS error name: SSM messages can echo the value sent. */
export class ParameterStore {
  readonly #client: SSMClient;
  readonly #pacer: WritePacer | undefined;

  constructor(client: SSMClient, pacer?: WritePacer) {
    this.#client = client;
    this.#pacer = pacer;
  }

  /** The decrypted value, or undefined when the parameter does not exist yet. */
  async read(sourceId: string, name: string): Promise<StoredParameter | undefined> {
    try {
      const { Parameter } = await this.#client.send(
        new GetParameterCommand({ Name: name, WithDecryption: true }),
      );
      if (Parameter?.Value === undefined) return undefined;
      return { value: Parameter.Value, version: Parameter.Version ?? 0 };
    } catch (error) {
      const awsName = awsErrorName(error);
      if (awsName === 'ParameterNotFound') return undefined;
      throw new StoreError(sourceId, `could not read SSM parameter "${name}"`, awsName);
    }
  }

  async writeSecure(
    sourceId: string,
    name: string,
    value: string,
    kmsKeyId: string | undefined,
    deadline?: number,
  ): Promise<number> {
    if (this.#pacer && !(await this.#pacer.turn(deadline))) {
      throw new StoreError(
        sourceId,
        `could not write SSM parameter "${name}" within the time budget`,
        'WritePacing',
      );
    }
    try {
      const { Version } = await this.#client.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: ParameterType.SECURE_STRING,
          Overwrite: true,
          ...(kmsKeyId ? { KeyId: kmsKeyId } : {}),
        }),
      );
      return Version ?? 0;
    } catch (error) {
      const awsName = awsErrorName(error);
      throw new StoreError(sourceId, `could not write SSM parameter "${name}"`, awsName);
    }
  }
}
