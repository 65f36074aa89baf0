import type { ResolvedSource } from '../config/source-config.ts';
import { ProviderError } from '../errors.ts';

/** RFC 6750 §2.1 b64token: the only characters an `Authorization: Bearer` value may hold. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Refuses a token that cannot travel in a header before it is probed or
 * published: a CR/LF in it would split a consumer's request (header injection),
 * and the probe would only fail to send it, which proves nothing.
 */
export function checkBearerToken(source: ResolvedSource, token: string): void {
  if (B64TOKEN.test(token)) return;
  throw new ProviderError(
    source.id,
    'PROVIDER_INVALID_TOKEN',
    `${source.provider.name} returned a token with characters a bearer token cannot hold (RFC 6750 b64token); it was not probed or published, and the last good token stays`,
  );
}
