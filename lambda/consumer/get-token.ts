import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type PublishedToken, parsePublishedToken } from '../token-contract.ts';

export type { PublishedToken };

export interface TokenReaderOptions {
  ssm?: SSMClient;
  /** A cached token is used until this long before it expires, then re-read. Default 60 s. */
  expiryMarginSeconds?: number;
  /** A token with less life than this is never returned: a request made with it could fail mid-flight. Default 5 s. */
  minimumLifetimeSeconds?: number;
  now?: () => number;
}

export interface GetTokenOptions {
  /** Skip the cache and read the parameter again, e.g. after the provider answered 401. */
  forceRefresh?: boolean;
}

/** The parameter holds no usable token: missing, malformed, or (nearly) expired. The refresher's alarms will say why. */
export class TokenUnavailableError extends Error {
  constructor(parameterName: string, reason: string) {
    super(`no usable token in ${parameterName}: ${reason}`);
    this.name = 'TokenUnavailableError';
  }
}

interface CacheEntry {
  token: PublishedToken;
  usableUntil: number;
}

/**
 * Reads tokens published by the refresher. Each token is cached until shortly
 * before its own expiry (not for a fixed few seconds), so a warm consumer reads
 * SSM about once per token, and never returns a token that has expired.
 */
export class TokenReader {
  readonly #ssm: SSMClient;
  readonly #marginMs: number;
  readonly #minimumMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #reads = new Map<string, Promise<PublishedToken>>();

  constructor(options: TokenReaderOptions = {}) {
    this.#ssm = options.ssm ?? new SSMClient({});
    this.#marginMs = (options.expiryMarginSeconds ?? 60) * 1000;
    this.#minimumMs = (options.minimumLifetimeSeconds ?? 5) * 1000;
    this.#now = options.now ?? Date.now;
  }

  async getToken(parameterName: string, options: GetTokenOptions = {}): Promise<PublishedToken> {
    const cached = this.#cache.get(parameterName);
    if (!options.forceRefresh && cached && this.#now() < cached.usableUntil) return cached.token;
    // Concurrent callers share one read.
    let read = this.#reads.get(parameterName);
    if (!read) {
      read = this.#read(parameterName).finally(() => this.#reads.delete(parameterName));
      this.#reads.set(parameterName, read);
    }
    return read;
  }

  async #read(parameterName: string): Promise<PublishedToken> {
    let value: string | undefined;
    try {
      const { Parameter } = await this.#ssm.send(
        new GetParameterCommand({ Name: parameterName, WithDecryption: true }),
      );
      value = Parameter?.Value;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'UnknownError';
      if (name === 'ParameterNotFound')
        throw new TokenUnavailableError(parameterName, 'the parameter does not exist yet');
      throw error;
    }
    const token = value === undefined ? undefined : parsePublishedToken(value);
    if (!token) throw new TokenUnavailableError(parameterName, 'the value is not a published token');
    const expiresAt = Date.parse(token.expiresAt);
    const now = this.#now();
    if (expiresAt - this.#minimumMs <= now) {
      this.#cache.delete(parameterName);
      throw new TokenUnavailableError(
        parameterName,
        `the token expired or expires within seconds (${token.expiresAt})`,
      );
    }
    const usableUntil = expiresAt - this.#marginMs;
    // Inside the margin the token is still returned, but not cached: the next call looks for its successor.
    if (usableUntil > now) this.#cache.set(parameterName, { token, usableUntil });
    else this.#cache.delete(parameterName);
    return token;
  }
}

let shared: TokenReader | undefined;

/** The published token for `parameterName`, from a reader shared by the whole container. */
export function getToken(parameterName: string, options?: GetTokenOptions): Promise<PublishedToken> {
  shared ??= new TokenReader();
  return shared.getToken(parameterName, options);
}
