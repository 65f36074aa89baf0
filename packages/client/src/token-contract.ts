/**
 * The value published to each consumer parameter. Consumers rely on this shape;
 * change it only additively. The same contract, for readers in other languages,
 * is `schema/published-token.schema.json`.
 *
 * No validation library here: the consumer client (`<package>/client`) imports
 * this module, and a consumer's bundle should not grow by a schema library for
 * six fields.
 */
export interface PublishedToken {
  token: string;
  tokenType: 'Bearer';
  /** ISO 8601 UTC, the instant the provider stops accepting the token. */
  expiresAt: string;
  issuedAt: string;
  provider: string;
  source: string;
}

const ISO_INSTANT =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:[12]\d|0[1-9]|3[01])T(?:[01]\d|2[0-3])(?::[0-5]\d){2}(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

const isInstant = (value: unknown): value is string =>
  typeof value === 'string' && ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value));

export function serializePublishedToken(token: PublishedToken): string {
  const { token: value, tokenType, expiresAt, issuedAt, provider, source } = token;
  return JSON.stringify({ token: value, tokenType, expiresAt, issuedAt, provider, source });
}

/**
 * Undefined when the text is not a published token (never written, hand-edited, or an older format).
 * Fields added later are ignored, so readers keep working when the contract grows.
 */
export function parsePublishedToken(text: string): PublishedToken | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const { token, tokenType, expiresAt, issuedAt, provider, source } = json as Record<string, unknown>;
  if (typeof token !== 'string' || token === '' || tokenType !== 'Bearer') return undefined;
  if (!isInstant(expiresAt) || !isInstant(issuedAt)) return undefined;
  if (typeof provider !== 'string' || typeof source !== 'string') return undefined;
  return { token, tokenType, expiresAt, issuedAt, provider, source };
}
