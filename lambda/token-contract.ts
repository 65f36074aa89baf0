import * as v from 'valibot';

/**
 * The value published to each consumer parameter. Consumers rely on this shape;
 * change it only additively.
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

const isoInstant = v.pipe(v.string(), v.isoTimestamp());

const publishedTokenSchema = v.object({
  token: v.pipe(v.string(), v.nonEmpty()),
  tokenType: v.literal('Bearer'),
  expiresAt: isoInstant,
  issuedAt: isoInstant,
  provider: v.string(),
  source: v.string(),
});

export function serializePublishedToken(token: PublishedToken): string {
  const { token: value, tokenType, expiresAt, issuedAt, provider, source } = token;
  return JSON.stringify({ token: value, tokenType, expiresAt, issuedAt, provider, source });
}

/** Undefined when the text is not a published token (never written, hand-edited, or an older format). */
export function parsePublishedToken(text: string): PublishedToken | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = v.safeParse(publishedTokenSchema, json);
  return result.success ? result.output : undefined;
}
