import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

const region = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface AwsClients {
  ssm: SSMClient;
  secretsManager: SecretsManagerClient;
}

/** Real SDK v3 clients pointed at an emulator endpoint. */
export function awsClients(endpoint: string): AwsClients {
  return {
    ssm: new SSMClient({ endpoint, region, credentials }),
    secretsManager: new SecretsManagerClient({ endpoint, region, credentials }),
  };
}

export async function putSecret(client: SecretsManagerClient, name: string, value: string): Promise<void> {
  try {
    await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceExistsException') throw error;
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
  }
}

export async function readParameter(
  ssm: SSMClient,
  name: string,
): Promise<{ value: string; version: number; type: string } | undefined> {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return { value: Parameter?.Value ?? '', version: Parameter?.Version ?? 0, type: Parameter?.Type ?? '' };
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') return undefined;
    throw error;
  }
}
