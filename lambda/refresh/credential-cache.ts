import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { budgetSpent, type CallBudget, sendOptions } from '../aws/bounded-calls.ts';
import { awsErrorName, SecretError } from '../errors.ts';

interface CachedSecret {
  value: string;
  readAt: number;
}

const NOT_FOUND = new Set(['ResourceNotFoundException']);
const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'DecryptionFailure',
  'UnrecognizedClientException',
]);

/**
 * Secret strings kept for the container's life (bounded by maxAgeMs), so a
 * warm refresher reads each secret once. `reload` forces one fresh read after an
 * auth failure, in case the secret was rotated.
 */
export class CredentialCache {
  readonly #client: SecretsManagerClient;
  readonly #maxAgeMs: number;
  readonly #entries = new Map<string, CachedSecret>();

  constructor(client: SecretsManagerClient, maxAgeMs = 60 * 60 * 1000) {
    this.#client = client;
    this.#maxAgeMs = maxAgeMs;
  }

  async get(sourceId: string, secretId: string, budget?: CallBudget, now = Date.now()): Promise<string> {
    const cached = this.#entries.get(secretId);
    if (cached && now - cached.readAt < this.#maxAgeMs) return cached.value;
    return this.reload(sourceId, secretId, budget, now);
  }

  async reload(sourceId: string, secretId: string, budget?: CallBudget, now = Date.now()): Promise<string> {
    const value = await this.#read(sourceId, secretId, budget);
    this.#entries.set(secretId, { value, readAt: now });
    return value;
  }

  async #read(sourceId: string, secretId: string, budget: CallBudget | undefined): Promise<string> {
    let secretString: string | undefined;
    try {
      ({ SecretString: secretString } = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId }),
        sendOptions(budget),
      ));
    } catch (error) {
      if (budgetSpent(budget)) {
        throw new SecretError(
          sourceId,
          'SECRET_UNAVAILABLE',
          `secret "${secretId}" could not be read before the run's time budget ran out`,
        );
      }
      const name = awsErrorName(error);
      if (NOT_FOUND.has(name)) {
        throw new SecretError(sourceId, 'SECRET_NOT_FOUND', `secret "${secretId}" does not exist (${name})`);
      }
      if (DENIED.has(name)) {
        throw new SecretError(
          sourceId,
          'SECRET_ACCESS_DENIED',
          `secret "${secretId}" cannot be read (${name})`,
        );
      }
      throw new SecretError(
        sourceId,
        'SECRET_UNAVAILABLE',
        `secret "${secretId}" could not be read (${name})`,
      );
    }
    if (secretString === undefined) {
      throw new SecretError(
        sourceId,
        'SECRET_INVALID',
        `secret "${secretId}" has no string value (binary secrets are not supported)`,
      );
    }
    return secretString;
  }
}
