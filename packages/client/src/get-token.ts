import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type PublishedToken, parsePublishedToken } from './token-contract.ts';

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
  constructor(parameterName: string, reason: string, cause?: unknown) {
    super(`no usable token in ${parameterName}: ${reason}`, cause === undefined ? undefined : { cause });
    this.name = 'TokenUnavailableError';
  }
}

/**
 * What the reader knows of one parameter: the last token it read (kept through
 * later SSM errors while it has life), and what the last attempt found.
 */
interface Known {
  token?: PublishedToken;
  expiresAt?: number;
  /** When the last read was attempted; no new read before `recheckSeconds` after a miss or an error. */
  attemptAt: number;
  /** Why the last attempt gave no token good for the margin: missing, malformed, or the SSM error. */
  problem?: string;
  cause?: unknown;
}

/** A read in flight; the sequence tells a newer read from the one a `finally` is clearing. */
interface InFlight {
  sequence: number;
  promise: Promise<PublishedToken>;
}

/**
 * Reads tokens published by the refresher. Each token is cached until shortly
 * before its own expiry (not for a fixed few seconds), so a warm consumer reads
 * SSM about once per token, and never returns a token that has expired. While
 * the refresher is late, or SSM fails, it reads again at most every few seconds
 * instead of on every call, and serves the cached token as long as it has its
 * minimum lifetime.
 */
export class TokenReader {
  readonly #ssm: SSMClient;
  readonly #marginMs: number;
  readonly #minimumMs: number;
  readonly #recheckMs: number;
  readonly #now: () => number;
  readonly #known = new Map<string, Known>();
  readonly #reads = new Map<string, InFlight>();
  #sequence = 0;

  constructor(options: TokenReaderOptions = {}) {
    const seconds = (name: keyof TokenReaderOptions, fallback: number, minimum = 0): number => {
      const value = options[name] ?? fallback;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum) {
        throw new RangeError(
          `TokenReader option "${name}" must be a finite number of seconds, at least ${minimum}`,
        );
      }
      return value;
    };
    const minimum = seconds('minimumLifetimeSeconds', 5);
    const margin = seconds('expiryMarginSeconds', 60);
    if (margin < minimum) {
      throw new RangeError('TokenReader option "expiryMarginSeconds" must be >= "minimumLifetimeSeconds"');
    }
    this.#ssm = options.ssm ?? new SSMClient({});
    this.#marginMs = margin * 1000;
    this.#minimumMs = minimum * 1000;
    this.#recheckMs = seconds('recheckSeconds', 5) * 1000;
    this.#now = options.now ?? Date.now;
  }

  async getToken(parameterName: string, options: GetTokenOptions = {}): Promise<PublishedToken> {
    const asked = this.#now();
    const known = this.#known.get(parameterName);
    if (!options.forceRefresh && known) {
      if (known.token && known.expiresAt !== undefined && asked < known.expiresAt - this.#marginMs)
        return known.token;
      if (asked - known.attemptAt < this.#recheckMs) return this.#usable(parameterName, known);
    }
    // Concurrent callers share one read. A forced one (after a 401) never joins a read already in flight:
    // that read began before the caller was refused, and may return the very token that failed.
    const inFlight = this.#reads.get(parameterName);
    if (inFlight && !options.forceRefresh) return inFlight.promise;
    const sequence = ++this.#sequence;
    const promise = this.#read(parameterName, options.forceRefresh === true).finally(() => {
      if (this.#reads.get(parameterName)?.sequence === sequence) this.#reads.delete(parameterName);
    });
    this.#reads.set(parameterName, { sequence, promise });
    return promise;
  }

  async #read(parameterName: string, forced: boolean): Promise<PublishedToken> {
    const previous = this.#known.get(parameterName);
    let value: string | undefined;
    try {
      const { Parameter } = await this.#ssm.send(
        new GetParameterCommand({ Name: parameterName, WithDecryption: true }),
      );
      value = Parameter?.Value;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'UnknownError';
      if (name === 'ParameterNotFound') {
        return this.#record(parameterName, {
          attemptAt: this.#now(),
          problem: 'the parameter does not exist yet',
        });
      }
      // Keep what was read before: a token with life left is served until then (not after a forced read:
      // its caller was just refused with it).
      const kept = previous?.token && !forced ? { token: previous.token, expiresAt: previous.expiresAt } : {};
      return this.#record(parameterName, {
        ...kept,
        attemptAt: this.#now(),
        problem: `SSM GetParameter failed (${name})`,
        cause: error,
      });
    }
    const token = value === undefined ? undefined : parsePublishedToken(value);
    const attemptAt = this.#now();
    if (!token)
      return this.#record(parameterName, { attemptAt, problem: 'the value is not a published token' });
    return this.#record(parameterName, { attemptAt, token, expiresAt: Date.parse(token.expiresAt) });
  }

  #record(parameterName: string, known: Known): PublishedToken {
    this.#known.set(parameterName, known);
    return this.#usable(parameterName, known);
  }

  /** The known token while it has its minimum lifetime (inside the margin it is still served, and re-read soon). */
  #usable(parameterName: string, known: Known): PublishedToken {
    if (known.token && known.expiresAt !== undefined && known.expiresAt - this.#minimumMs > this.#now())
      return known.token;
    const reason = known.token
      ? `the token expired or expires within seconds (${known.token.expiresAt})${known.problem ? `, and ${known.problem}` : ''}`
      : (known.problem ?? 'no token has been read');
    throw new TokenUnavailableError(parameterName, reason, known.cause);
  }
}

let shared: TokenReader | undefined;

/** The published token for `parameterName`, from a reader shared by the whole container. */
export function getToken(parameterName: string, options?: GetTokenOptions): Promise<PublishedToken> {
  shared ??= new TokenReader();
  return shared.getToken(parameterName, options);
}
