import { ProviderError } from '../errors.ts';
import type { Redactor } from '../redact.ts';
import { type BackoffPolicy, DEFAULT_BACKOFF, fullJitterDelay } from './backoff.ts';
import {
  type AttemptFailure,
  interpretResponse,
  type ProviderResponse,
  readCapped,
} from './provider-response.ts';
import { baseUrlProblem } from './url-policy.ts';

export type { ProviderResponse } from './provider-response.ts';

export interface HttpSettings {
  timeoutMs: number;
  maxAttempts: number;
  maxResponseBytes: number;
  backoff: BackoffPolicy;
}

export const DEFAULT_HTTP_SETTINGS: HttpSettings = {
  timeoutMs: 5_000,
  maxAttempts: 3,
  maxResponseBytes: 64 * 1024,
  backoff: DEFAULT_BACKOFF,
};

/** Side effects the client needs, injectable so tests control time and randomness. */
export interface HttpRuntime {
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  /** Wall-clock milliseconds; deadlines are measured against it. */
  now: () => number;
}

export const defaultHttpRuntime: HttpRuntime = {
  fetch: (input, init) => fetch(input, init),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: Date.now,
};

export interface ProviderRequest {
  /** A label safe to log, e.g. "authorize"; the URL is never logged because it may hold a token. */
  route: string;
  method: 'GET' | 'POST';
  url: URL;
  body?: unknown;
  /** Sent as application/x-www-form-urlencoded instead of a JSON body (OAuth 2.0 token endpoints); names may repeat. */
  form?: ReadonlyArray<readonly [string, string]>;
  /** Extra headers, e.g. HTTP Basic client authentication; never logged. */
  headers?: Readonly<Record<string, string>>;
  /** Non-2xx statuses returned to the provider, which explains them itself (e.g. OAuth 2.0 error bodies). */
  answerStatuses?: readonly number[];
  /** Sent as `Authorization: Bearer …` (a probe of a new token); never logged. */
  bearerToken?: string;
  /** False for calls that must not be repeated, such as presenting a single-use refresh token. */
  retry: boolean;
}

export interface RetryNotice {
  route: string;
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface ProviderHttpClientOptions {
  sourceId: string;
  provider: string;
  settings: HttpSettings;
  runtime: HttpRuntime;
  redactor: Redactor;
  /** Wall-clock ms after which no attempt starts and no backoff sleeps. */
  deadline?: number;
  /** Runs before every attempt and refuses it by throwing (the run lost its lease). */
  fence?: () => Promise<void>;
  onRetry?: (notice: RetryNotice) => void;
}

/** Smallest slice of time worth starting an attempt with. */
const MIN_ATTEMPT_MS = 250;

/**
 * JSON over HTTPS for provider auth endpoints: per-attempt timeout, response size
 * cap, bounded retries with full-jitter backoff on 429/5xx/network errors,
 * Retry-After honoured, and a deadline that retries never run past.
 */
export class ProviderHttpClient {
  readonly #options: ProviderHttpClientOptions;

  constructor(options: ProviderHttpClientOptions) {
    this.#options = options;
  }

  async send(request: ProviderRequest): Promise<ProviderResponse> {
    const { settings, runtime, deadline } = this.#options;
    const urlProblem = baseUrlProblem(request.url.origin);
    if (urlProblem)
      throw this.#error(
        request,
        { code: 'PROVIDER_UNREACHABLE', detail: `URL ${urlProblem}`, retryable: false },
        0,
      );

    const maxAttempts = request.retry ? settings.maxAttempts : 1;
    let failure: AttemptFailure | undefined;
    let attemptsMade = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const started = runtime.now();
      const remaining = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - runtime.now();
      if (remaining < MIN_ATTEMPT_MS) {
        throw this.#deadlineError(request, failure, attempt - 1);
      }
      await this.#options.fence?.();
      attemptsMade = attempt;
      const outcome = await this.#attempt(
        request,
        Math.min(settings.timeoutMs, remaining - (runtime.now() - started)),
      );
      if ('body' in outcome) return outcome;
      failure = outcome;
      if (!failure.retryable || attempt === maxAttempts) break;

      const delayMs = this.#retryDelay(failure, attempt);
      if (delayMs === undefined) break;
      if (deadline !== undefined && runtime.now() + delayMs + MIN_ATTEMPT_MS > deadline) {
        throw this.#deadlineError(request, failure, attempt);
      }
      this.#options.onRetry?.({ route: request.route, attempt, delayMs, reason: failure.detail });
      await runtime.sleep(delayMs);
    }
    // biome-ignore lint/style/noNonNullAssertion: the loop runs at least once and only breaks after a failure
    throw this.#error(request, failure!, attemptsMade);
  }

  #retryDelay(failure: AttemptFailure, attempt: number): number | undefined {
    const { backoff } = this.#options.settings;
    if (failure.retryAfterMs !== undefined) {
      return failure.retryAfterMs <= backoff.maxRetryAfterMs ? failure.retryAfterMs : undefined;
    }
    return fullJitterDelay(attempt - 1, backoff, this.#options.runtime.random);
  }

  async #attempt(request: ProviderRequest, timeoutMs: number): Promise<ProviderResponse | AttemptFailure> {
    const { runtime, settings } = this.#options;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await runtime.fetch(request.url, {
        method: request.method,
        headers: {
          Accept: 'application/json',
          ...contentType(request),
          ...(request.bearerToken === undefined ? {} : { Authorization: `Bearer ${request.bearerToken}` }),
          ...request.headers,
        },
        body: encodeBody(request),
        // A redirect could lead credentials elsewhere (or to plain http): refused, never followed.
        redirect: 'manual',
        signal: controller.signal,
      });
      const text = await readCapped(response, settings.maxResponseBytes);
      if (text === undefined) {
        return {
          code: 'PROVIDER_BAD_RESPONSE',
          detail: `response body exceeds ${settings.maxResponseBytes} bytes`,
          status: response.status,
          retryable: false,
        };
      }
      return interpretResponse(response, text, {
        answerStatuses: request.answerStatuses,
        redactor: this.#options.redactor,
        now: runtime.now(),
      });
    } catch (error) {
      if (controller.signal.aborted) {
        return {
          code: 'PROVIDER_TIMEOUT',
          detail: `no complete answer within ${timeoutMs} ms`,
          retryable: true,
        };
      }
      return {
        code: 'PROVIDER_UNREACHABLE',
        detail: `network error (${networkErrorCode(error)})`,
        retryable: true,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  #deadlineError(
    request: ProviderRequest,
    last: AttemptFailure | undefined,
    attempts: number,
  ): ProviderError {
    const after = last ? `; last attempt: ${last.detail}` : '';
    return this.#error(
      request,
      {
        code: 'DEADLINE_EXCEEDED',
        detail: `stopped before the Lambda time budget ran out${after}`,
        status: last?.status,
        retryable: false,
      },
      attempts,
    );
  }

  #error(request: ProviderRequest, failure: AttemptFailure, attempts: number): ProviderError {
    const { sourceId, provider } = this.#options;
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    return new ProviderError(
      sourceId,
      failure.code,
      `${provider} ${request.route} ${failure.detail}${tries}`,
      {
        status: failure.status,
        attempts,
      },
    );
  }
}

function contentType(request: ProviderRequest): Record<string, string> {
  if (request.form !== undefined) return { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (request.body !== undefined) return { 'Content-Type': 'application/json' };
  return {};
}

function encodeBody(request: ProviderRequest): string | undefined {
  if (request.form !== undefined)
    return new URLSearchParams(
      request.form.map(([name, value]): [string, string] => [name, value]),
    ).toString();
  return request.body === undefined ? undefined : JSON.stringify(request.body);
}

/** Only the error code of a network failure: messages of HTTP client errors can carry the URL. */
function networkErrorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown';
}
