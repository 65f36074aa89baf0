import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';

/**
 * Plays the run that takes a source's lease over: it changes the lease's owner
 * and record version, as a takeover does, then writes its own private state,
 * which the run that lost the lease must never overwrite. Returns that state.
 */
export async function takeLeaseOver(
  aws: { dynamodb: DynamoDBClient; ssm: SSMClient },
  table: string,
  source: { id: string; provider: string; privateParameterName?: string | undefined },
): Promise<string> {
  await aws.dynamodb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { sourceId: { S: `${source.provider}/${source.id}` } },
      UpdateExpression: 'SET #owner = :thief, rvn = :rvn',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':thief': { S: 'thief' }, ':rvn': { S: randomUUID() } },
    }),
  );
  const thiefState = JSON.stringify({ refresh: `thief-${randomUUID()}`, route: 'sdk' });
  if (source.privateParameterName) {
    await aws.ssm.send(
      new PutParameterCommand({
        Name: source.privateParameterName,
        Value: thiefState,
        Type: 'SecureString',
        Overwrite: true,
      }),
    );
  }
  return thiefState;
}
