import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type PublishedToken, parsePublishedToken } from '../token-contract.ts';

export type { PublishedToken };

export interface TokenReaderOptions {
  ssm?: SSMClient;
  /** A cached token is used until this long before it expires, then re-read. Default 60 s. */
  expiryMarginSeconds?: number;
  /** A token with less life than this is never returned: a request made with it could fail mid-flight. Default 5 s. */
  minimumLifetimeSeconds?: number;
  /**
   * When the last read found no token good for the margin (inside it, expired, missing: the
   * refresher is late, e.g. in a provider outage), read again at most this often. Default 5 s.
   */
  recheckSeconds?: number;
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

/** What the last read of one parameter found: a token, or why there was none. */
type LastRead = { readAt: number } & (
  | { token: PublishedToken; expiresAt: number }
  | { token?: undefined; problem: string }
);

/**
 * Reads tokens published by the refresher. Each token is cached until shortly
 * before its own expiry (not for a fixed few seconds), so a warm consumer reads
 * SSM about once per token, and never returns a token that has expired. While
 * the refresher is late, it re-reads at most every few seconds instead of on
 * every call.
 */
export class TokenReader {
  readonly #ssm: SSMClient;
  readonly #marginMs: number;
  readonly #minimumMs: number;
  readonly #recheckMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, LastRead>();
  readonly #reads = new Map<string, Promise<PublishedToken>>();

  constructor(options: TokenReaderOptions = {}) {
    this.#ssm = options.ssm ?? new SSMClient({});
    this.#marginMs = (options.expiryMarginSeconds ?? 60) * 1000;
    this.#minimumMs = (options.minimumLifetimeSeconds ?? 5) * 1000;
    this.#recheckMs = (options.recheckSeconds ?? 5) * 1000;
    this.#now = options.now ?? Date.now;
  }

  async getToken(parameterName: string, options: GetTokenOptions = {}): Promise<PublishedToken> {
    const last = this.#last.get(parameterName);
    if (!options.forceRefresh && last) {
      const now = this.#now();
      if (last.token && now < last.expiresAt - this.#marginMs) return last.token;
      if (now - last.readAt < this.#recheckMs) return this.#usable(parameterName, last);
    }
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
      if (name !== 'ParameterNotFound') throw error;
      return this.#record(parameterName, {
        readAt: this.#now(),
        problem: 'the parameter does not exist yet',
      });
    }
    const token = value === undefined ? undefined : parsePublishedToken(value);
    const readAt = this.#now();
    if (!token) return this.#record(parameterName, { readAt, problem: 'the value is not a published token' });
    return this.#record(parameterName, { readAt, token, expiresAt: Date.parse(token.expiresAt) });
  }

  #record(parameterName: string, read: LastRead): PublishedToken {
    this.#last.set(parameterName, read);
    return this.#usable(parameterName, read);
  }

  /** The token of the last read while it has life enough; inside the margin it is returned, but looked at again soon. */
  #usable(parameterName: string, read: LastRead): PublishedToken {
    if (!read.token) throw new TokenUnavailableError(parameterName, read.problem);
    if (read.expiresAt - this.#minimumMs <= this.#now()) {
      throw new TokenUnavailableError(
        parameterName,
        `the token expired or expires within seconds (${read.token.expiresAt})`,
      );
    }
    return read.token;
  }
}

let shared: TokenReader | undefined;

/** The published token for `parameterName`, from a reader shared by the whole container. */
export function getToken(parameterName: string, options?: GetTokenOptions): Promise<PublishedToken> {
  shared ??= new TokenReader();
  return shared.getToken(parameterName, options);
}
