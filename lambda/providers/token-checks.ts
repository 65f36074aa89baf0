import { decodeJwt } from 'jose';
import { ProviderError } from '../errors.ts';

/**
 * What a provider promises about its access tokens. `jwt`: every token is a JWT
 * (Paypack, Papaya), so a token that is not one is refused. `opaque-or-jwt`:
 * tokens may be opaque strings (generic OAuth 2.0 servers); a JWT's `exp` is
 * still cross-checked, and an opaque token's expiry comes from the response alone.
 */
export type TokenFormat = 'jwt' | 'opaque-or-jwt';

export interface TokenFacts {
  sourceId: string;
  provider: string;
  token: string;
  /** Default `jwt`. */
  tokenFormat?: TokenFormat;
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
 * The signature is not verified: the refresher is not the token's audience, and
 * the providers do not all publish their signing keys.
 */
export function settleExpiry(facts: TokenFacts): { expiresAt: Date; issuedAt: Date } {
  const { sourceId, provider, now } = facts;
  const claims = decodeClaims(facts);
  const jwtExpiresAt = claimDate(claims.exp, 'exp', facts);
  const reported = facts.reportedExpiresAt;
  if (reported !== undefined && !Number.isFinite(reported.getTime())) {
    throw new ProviderError(sourceId, 'PROVIDER_INVALID_TOKEN', `${provider} reported an invalid expiry`);
  }
  const candidates = [reported, jwtExpiresAt].filter((date): date is Date => date !== undefined);
  if (candidates.length === 0) {
    throw new ProviderError(
      sourceId,
      'PROVIDER_INVALID_TOKEN',
      `${provider} token has no expiry (no exp claim and none reported)`,
    );
  }
  const expiresAt = new Date(Math.min(...candidates.map((date) => date.getTime())));
  if (reported && jwtExpiresAt) {
    const gapSeconds = Math.round(Math.abs(reported.getTime() - jwtExpiresAt.getTime()) / 1000);
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
  const iat = claimDate(claims.iat, 'iat', facts);
  const issuedAt = iat !== undefined && iat.getTime() <= now + 60_000 ? iat : new Date(now);
  return { expiresAt, issuedAt };
}

function decodeClaims(facts: TokenFacts): { exp?: unknown; iat?: unknown } {
  try {
    return decodeJwt(facts.token);
  } catch {
    if (facts.tokenFormat === 'opaque-or-jwt') return {};
    throw new ProviderError(
      facts.sourceId,
      'PROVIDER_INVALID_TOKEN',
      `${facts.provider} returned a token that is not a JWT`,
    );
  }
}

/**
 * A NumericDate claim as a Date. JSON numbers such as 1e400 parse to Infinity,
 * which would yield an Invalid Date that slips past every comparison.
 */
function claimDate(value: unknown, claim: 'exp' | 'iat', facts: TokenFacts): Date | undefined {
  if (value === undefined) return undefined;
  const date = typeof value === 'number' && Number.isFinite(value) ? new Date(value * 1000) : undefined;
  if (date === undefined || !Number.isFinite(date.getTime())) {
    throw new ProviderError(
      facts.sourceId,
      'PROVIDER_INVALID_TOKEN',
      `${facts.provider} token has an "${claim}" claim that is not a usable number of seconds`,
    );
  }
  return date;
}

/** `exp` of a JWT, or undefined when the value is not a JWT or has no usable exp. */
export function jwtExpiry(token: string): Date | undefined {
  try {
    const { exp } = decodeJwt(token);
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
    const date = new Date(exp * 1000);
    return Number.isFinite(date.getTime()) ? date : undefined;
  } catch {
    return undefined;
  }
}
