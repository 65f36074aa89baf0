/**
 * The benchmark's yardstick: the least a token refresher can be. It imports
 * only the SSM and Secrets Manager clients and makes the same calls as ours on
 * the refresh path (read the published value, read the credentials, call the
 * provider, write the token), with no validation, logging, metrics or locking.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

export const ssm = new SSMClient({});
const secrets = new SecretsManagerClient({});

export async function handler(event: {
  parameterName: string;
  secretId: string;
  tokenUrl: string;
}): Promise<void> {
  try {
    await ssm.send(new GetParameterCommand({ Name: event.parameterName, WithDecryption: true }));
  } catch {
    // not published yet
  }
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: event.secretId }));
  const response = await fetch(event.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...JSON.parse(SecretString ?? '{}'), expiration: 86_400 }),
  });
  const { token, valid_until: expiresAt } = (await response.json()) as { token: string; valid_until: string };
  await ssm.send(
    new PutParameterCommand({
      Name: event.parameterName,
      Value: JSON.stringify({ token, expiresAt }),
      Type: 'SecureString',
      Overwrite: true,
    }),
  );
}
