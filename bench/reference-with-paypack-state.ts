/**
 * The reference plus exactly the extra I/O Paypack's state requires on a refresh, with nothing else:
 * take the source's lease (DynamoDB conditional update), read the published value again under it, read
 * the single-use refresh token, write the new one, release the lease. Next to the reference it measures
 * what that I/O costs; next to the Paypack handler, what remains is the handler's own.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { handler as referenceHandler, ssm } from './reference-handler.ts';

const dynamodb = new DynamoDBClient({});

export async function handler(event: {
  parameterName: string;
  secretId: string;
  tokenUrl: string;
  lockTable: string;
  stateParameterName: string;
}): Promise<void> {
  const owner = randomUUID();
  const key = { sourceId: { S: event.parameterName } };
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: event.lockTable,
      Key: key,
      UpdateExpression: 'SET #owner = :owner, leaseUntil = :until',
      ConditionExpression: 'attribute_not_exists(sourceId) OR leaseUntil < :now',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: {
        ':owner': { S: owner },
        ':until': { N: String(Date.now() + 120_000) },
        ':now': { N: String(Date.now()) },
      },
    }),
  );
  try {
    await ssm.send(new GetParameterCommand({ Name: event.parameterName, WithDecryption: true }));
  } catch {
    // not published yet
  }
  try {
    await ssm.send(new GetParameterCommand({ Name: event.stateParameterName, WithDecryption: true }));
  } catch {
    // no refresh token yet
  }
  await referenceHandler(event);
  await ssm.send(
    new PutParameterCommand({
      Name: event.stateParameterName,
      Value: randomUUID(),
      Type: 'SecureString',
      Overwrite: true,
    }),
  );
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: event.lockTable,
      Key: key,
      UpdateExpression: 'SET leaseUntil = :free',
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': { S: owner }, ':free': { N: '0' } },
    }),
  );
}
