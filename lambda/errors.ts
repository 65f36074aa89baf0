/**
 * Every error the refresher raises on purpose. Messages name the source and the
 * problem and are built only from values that are safe to log: never a secret,
 * token, refresh token, request URL or raw response body. None of them carries a
 * `cause`, because loggers serialise causes (and an SDK or HTTP error may hold
 * request data).
 */
export abstract class RefresherError extends Error {
  abstract readonly code: string;
  readonly sourceId: string | undefined;

  constructor(sourceId: string | undefined, detail: string) {
    super(sourceId === undefined ? detail : `source "${sourceId}": ${detail}`);
    this.sourceId = sourceId;
    this.name = new.target.name;
  }
}

/** A source definition or handler setting is missing or malformed. */
export class ConfigError extends RefresherError {
  readonly code = 'CONFIG_INVALID';
}

export const SECRET_PROBLEMS = [
  'SECRET_NOT_FOUND',
  'SECRET_ACCESS_DENIED',
  'SECRET_INVALID',
  'SECRET_UNAVAILABLE',
] as const;
export type SecretProblem = (typeof SECRET_PROBLEMS)[number];

/** The source's credentials could not be read from Secrets Manager or are malformed. */
export class SecretError extends RefresherError {
  readonly code: SecretProblem;
  constructor(sourceId: string, code: SecretProblem, detail: string) {
    super(sourceId, detail);
    this.code = code;
  }
}

export const PROVIDER_PROBLEMS = [
  'PROVIDER_AUTH_REJECTED',
  'PROVIDER_CLIENT_ERROR',
  'PROVIDER_RATE_LIMITED',
  'PROVIDER_SERVER_ERROR',
  'PROVIDER_UNREACHABLE',
  'PROVIDER_TIMEOUT',
  'PROVIDER_BAD_RESPONSE',
  'PROVIDER_INVALID_TOKEN',
  /** The provider refused the new token at the source's probe: it is not published. */
  'PROVIDER_TOKEN_REJECTED',
  'DEADLINE_EXCEEDED',
] as const;
export type ProviderProblem = (typeof PROVIDER_PROBLEMS)[number];

/** A provider call failed or answered with something that is not a usable token. */
export class ProviderError extends RefresherError {
  readonly code: ProviderProblem;
  readonly status: number | undefined;
  readonly attempts: number;
  constructor(
    sourceId: string,
    code: ProviderProblem,
    detail: string,
    extra: { status?: number | undefined; attempts?: number } = {},
  ) {
    super(sourceId, detail);
    this.code = code;
    this.status = extra.status;
    this.attempts = extra.attempts ?? 1;
  }

  /** Credentials were refused: worth re-reading the secret in case it was rotated. */
  get isAuthFailure(): boolean {
    return this.code === 'PROVIDER_AUTH_REJECTED';
  }
}

/** Reading or writing SSM Parameter Store failed. */
export class StoreError extends RefresherError {
  readonly code = 'STORE_FAILED';
  readonly awsErrorName: string;
  constructor(sourceId: string, detail: string, awsErrorName: string) {
    super(sourceId, `${detail}: ${awsErrorName}`);
    this.awsErrorName = awsErrorName;
  }
}

/** Unexpected failures are reduced to their type name: their message may hold anything. */
export function describeUnexpected(error: unknown): string {
  if (error instanceof Error) return error.name || 'Error';
  return typeof error;
}

/** The AWS error name (ThrottlingException, …), or the socket error code for network failures. */
export function awsErrorName(error: unknown): string {
  if (!(error instanceof Error)) return 'UnknownError';
  const code = (error as { code?: unknown }).code;
  if (error.name === 'Error' && typeof code === 'string') return code;
  return error.name || 'UnknownError';
}

/**
 * Every code a failed outcome can carry (`outcome.error.code`, the lock table's
 * `lastCode`): each has a section in docs/runbook.md, which a test keeps in step.
 * LOCK_BUSY and LOCK_LOST come from refresh/await-lock.ts and refresh/source-lock.ts,
 * NOT_ACTIVE_REGION from refresh/regions.ts;
 * UNEXPECTED marks an error that is not a RefresherError.
 */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  ...SECRET_PROBLEMS,
  ...PROVIDER_PROBLEMS,
  'STORE_FAILED',
  'LOCK_BUSY',
  'LOCK_LOST',
  'NOT_ACTIVE_REGION',
  'UNEXPECTED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Codes a provider may warn with (IssueContext.warn): the token was published,
 * but a person should look. Each has a section in docs/runbook.md too.
 */
export const WARNING_CODES = ['TOKEN_SHORTER_THAN_EXPECTED'] as const;
export type WarningCode = (typeof WARNING_CODES)[number];
