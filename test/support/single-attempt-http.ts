import { ProviderHttpClient } from '../../lambda/http/provider-http-client.ts';
import { Redactor } from '../../lambda/redact.ts';

/** A provider HTTP client for unit tests: one attempt, no real waits, answers from `fetch`, time fixed at `now`. */
export function singleAttemptHttp(
  provider: string,
  now: number,
  fetch: typeof globalThis.fetch,
): ProviderHttpClient {
  return new ProviderHttpClient({
    sourceId: 's',
    provider,
    settings: {
      timeoutMs: 1000,
      maxAttempts: 1,
      maxResponseBytes: 65536,
      backoff: { baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1 },
    },
    redactor: new Redactor(),
    runtime: { fetch, sleep: async () => {}, random: () => 0, now: () => now },
  });
}
