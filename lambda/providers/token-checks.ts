import { decodeJwt } from 'jose';
import { ProviderError } from '../errors.ts';

export interface TokenFacts {
  sourceId: string;
  provider: string;
  token: string;
  /** The expiry the provider reported in the response body, if it reported one. */
  reportedExpiresAt: Date | undefined;
  now: number;
  /** Longest lifetime this provider can plausibly grant; anything further is rejected as absurd. */
  maxLifetimeSeconds: number;
  note: (message: string, fields?: Record<string, string | number | boolean>) => void;
}

/** Tokens expiring sooner than this are as good as expired by the time a consumer reads them. */
export const MIN_USEFUL_LIFETIME_SECONDS = 30;

/**
 * Checks an access token and settles its expiry: the earlier of the reported
 * expiry and the JWT's `exp`, rejected if already (nearly) past or implausibly far.
 * The signature is not verified: neither provider publishes its signing keys.
 */
export function settleExpiry(facts: TokenFacts): { expiresAt: Date; issuedAt: Date } {
  const { sourceId, provider, token, now } = facts;
  const claims = decodeClaims(sourceId, provider, token);
  const jwtExpiresAt = typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : undefined;
  const candidates = [facts.reportedExpiresAt, jwtExpiresAt].filter(
    (date): date is Date => date !== undefined,
  );
  if (candidates.length === 0) {
    throw new ProviderError(
      sourceId,
      'PROVIDER_INVALID_TOKEN',
      `${provider} token has no expiry (no exp claim and none reported)`,
    );
  }
  const expiresAt = new Date(Math.min(...candidates.map((date) => date.getTime())));
  if (facts.reportedExpiresAt && jwtExpiresAt) {
    const gapSeconds = Math.round(
      Math.abs(facts.reportedExpiresAt.getTime() - jwtExpiresAt.getTime()) / 1000,
    );
    if (gapSeconds >= 60)
      facts.note('reported expiry and JWT exp disagree; using the earlier', { gapSeconds });
  }

  const lifetimeSeconds = (expiresAt.getTime() - now) / 1000;
  if (lifetimeSeconds < MIN_USEFUL_LIFETIME_SECONDS) {
    throw new ProviderError(
      sourceId,
      'PROVIDER_INVALID_TOKEN',
      `${provider} token expiry ${expiresAt.toISOString()} is in the past or under ${MIN_USEFUL_LIFETIME_SECONDS} s away (check the provider's clock and ours)`,
    );
  }
  if (lifetimeSeconds > facts.maxLifetimeSeconds) {
    throw new ProviderError(
      sourceId,
      'PROVIDER_INVALID_TOKEN',
      `${provider} token expiry ${expiresAt.toISOString()} is implausibly far (more than ${facts.maxLifetimeSeconds} s ahead)`,
    );
  }
  const issuedAt =
    typeof claims.iat === 'number' && claims.iat * 1000 <= now + 60_000
      ? new Date(claims.iat * 1000)
      : new Date(now);
  return { expiresAt, issuedAt };
}

function decodeClaims(sourceId: string, provider: string, token: string): { exp?: unknown; iat?: unknown } {
  try {
    return decodeJwt(token);
  } catch {
    throw new ProviderError(
      sourceId,
      'PROVIDER_INVALID_TOKEN',
      `${provider} returned a token that is not a JWT`,
    );
  }
}

/** `exp` of a JWT, or undefined when the value is not a JWT or has no exp. */
export function jwtExpiry(token: string): Date | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? new Date(exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}
