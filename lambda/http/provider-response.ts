import type { ProviderProblem } from '../errors.ts';
import type { Redactor } from '../redact.ts';
import { parseRetryAfter } from './backoff.ts';

/** A provider's answer as the refresh cycle sees it: JSON when it was one. */
export interface ProviderResponse {
  status: number;
  body: unknown;
}

/** Why one attempt failed, and whether another attempt may help. */
export interface AttemptFailure {
  code: ProviderProblem;
  detail: string;
  status?: number;
  retryable: boolean;
  retryAfterMs?: number;
}

/**
 * What an HTTP answer means: a JSON body to hand back, or a failure with its
 * problem code, retryability and the provider's own words (checked and bounded).
 */
export function interpretResponse(
  response: Response,
  text: string,
  context: { answerStatuses?: readonly number[] | undefined; redactor: Redactor; now: number },
): ProviderResponse | AttemptFailure {
  const answerStatuses = context.answerStatuses ?? [];
  const { status } = response;
  const json = parseJson(text);
  // A listed error status the provider explains itself; without a JSON body it is treated like any other.
  if (answerStatuses.includes(status) && json.ok) return { status, body: json.value };
  if (status >= 200 && status < 300) {
    if (json.ok) return { status, body: json.value };
    return {
      code: 'PROVIDER_BAD_RESPONSE',
      detail: describeNonJson(response, text),
      status,
      retryable: false,
    };
  }
  if (status >= 300 && status < 400) {
    return {
      code: 'PROVIDER_BAD_RESPONSE',
      detail: `answered HTTP ${status} (a redirect, refused)`,
      status,
      retryable: false,
    };
  }
  const said = json.ok ? providerMessage(json.value, context.redactor) : '';
  const base = { status, detail: `answered HTTP ${status}${said}` };
  if (status === 401 || status === 403) return { ...base, code: 'PROVIDER_AUTH_REJECTED', retryable: false };
  const retryableCode =
    status === 429
      ? 'PROVIDER_RATE_LIMITED'
      : status >= 500 || status === 408
        ? 'PROVIDER_SERVER_ERROR'
        : undefined;
  if (retryableCode) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), context.now);
    return {
      ...base,
      code: retryableCode,
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  return { ...base, code: 'PROVIDER_CLIENT_ERROR', retryable: false };
}

/** The provider's own error text ("message" for Paypack, "error" for Papaya), checked, bounded and printable. */
function providerMessage(body: unknown, redactor: Redactor): string {
  if (typeof body !== 'object' || body === null) return '';
  const record = body as Record<string, unknown>;
  const message = [record.message, record.error].find((value) => typeof value === 'string') as
    | string
    | undefined;
  if (!message) return '';
  return `: "${redactor.quoteProviderText(message)}"`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function describeNonJson(response: Response, text: string): string {
  const type = response.headers.get('content-type') ?? 'no content type';
  if (text.trim() === '') return `answered HTTP ${response.status} with an empty body`;
  if (/html/i.test(type) || /^\s*</.test(text))
    return `answered HTTP ${response.status} with an HTML page instead of JSON`;
  return `answered HTTP ${response.status} with a body that is not valid JSON (${type})`;
}

/** Reads the body as text, or undefined once it grows past the cap (the rest is not downloaded). */
export async function readCapped(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
