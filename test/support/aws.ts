import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { NodeHttpHandler } from '@smithy/node-http-handler';

export const TEST_REGION = 'us-east-1';
const region = TEST_REGION;
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface AwsClients {
  ssm: SSMClient;
  secretsManager: SecretsManagerClient;
  dynamodb: DynamoDBClient;
}

/** Real SDK v3 clients pointed at an emulator endpoint. */
export function awsClients(endpoint: string, requestHandler?: NodeHttpHandler): AwsClients {
  const config = { endpoint, region, credentials, ...(requestHandler ? { requestHandler } : {}) };
  return {
    ssm: new SSMClient(config),
    secretsManager: new SecretsManagerClient(config),
    dynamodb: new DynamoDBClient(config),
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

/** The refresh-lock table as the CDK stack defines it (partition key sourceId). */
export async function createLockTable(dynamodb: DynamoDBClient, name: string): Promise<void> {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'sourceId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'sourceId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}
