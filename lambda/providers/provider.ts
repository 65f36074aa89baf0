import type * as v from 'valibot';
import type { WarningCode } from '../errors.ts';
import type { ProviderHttpClient } from '../http/provider-http-client.ts';

/** What a provider needs to know about the source it is issuing a token for. */
export interface IssueContext<Credentials, Options> {
  sourceId: string;
  baseUrl: string;
  credentials: Credentials;
  options: Options;
  /** Opaque state this provider asked to keep privately last time (e.g. a refresh token), if any. */
  privateState: string | undefined;
  http: ProviderHttpClient;
  /** Milliseconds since the epoch, from the refresher's clock. */
  now: number;
  /** Names this deployment to providers that label tokens (Papaya's token_name). */
  deploymentName: string;
  /** Lets the provider record a safe, structured observation (which path worked, clock disagreements). */
  note: (message: string, fields?: Record<string, string | number | boolean>) => void;
  /**
   * Reports something that need not stop the refresh but needs a person (a token
   * that lives shorter than the schedule was built for): a WARN line carrying
   * `warning: code`; once the token is published, the outcome lists the code and
   * the provider's ProviderWarnings metric counts the refresh.
   */
  warn: (code: WarningCode, message: string, fields?: Record<string, string | number | boolean>) => void;
  /** Registers values that must never be logged, such as a refresh token the provider just received. */
  markSensitive: (...values: string[]) => void;
  /**
   * Replaces the private state at once, and confirms the run still holds the
   * source's lease. A provider whose private state is single-use (a refresh token)
   * must record it as spent through this BEFORE presenting it (write-ahead): then
   * no crash, deadline or failed write afterwards can lead to a second presentation.
   * Throws when the write fails or the lease was lost; the provider must then not present it.
   */
  savePrivateState: (state: string) => Promise<void>;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
  issuedAt: Date;
  /** When set, replaces the private state (stored as its own SecureString, never shown to consumers). */
  privateState?: string;
}

/**
 * One class per provider. The refresh cycle talks only to this interface, so a
 * new provider is one new file plus one entry in `providers/index.ts`.
 */
export interface TokenProvider<Credentials = unknown, Options = unknown> {
  readonly name: string;
  /** Shape of the JSON stored in the source's Secrets Manager secret. */
  readonly credentialsSchema: v.GenericSchema<unknown, Credentials>;
  /** Shape of the source's provider-specific `options` object. */
  readonly optionsSchema: v.GenericSchema<unknown, Options>;
  /** True when the provider needs a private parameter for state such as a refresh token. */
  readonly usesPrivateState: boolean;
  /** How long a freshly issued token lives, for validating refresh thresholds and schedules. */
  tokenLifetimeSeconds(options: Options): number;
  /** Remaining life below which a token is refreshed, unless the source overrides it. */
  defaultRefreshThresholdSeconds(options: Options): number;
  /** A problem with this source's options given its base URL (e.g. an endpoint outside it), checked with the config. */
  sourceProblem?(baseUrl: string, options: Options): string | undefined;
  issueToken(context: IssueContext<Credentials, Options>): Promise<IssuedToken>;
  /**
   * Path (under the source's base URL) of a harmless GET that shows whether a new
   * token works, called before the token is published; undefined when there is none.
   */
  probePath?(options: Options): string | undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds providers of different credential types
export type AnyTokenProvider = TokenProvider<any, any>;
