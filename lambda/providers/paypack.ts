import * as v from 'valibot';
import { ProviderError } from '../errors.ts';
import { joinUrl } from '../http/url-policy.ts';
import type { IssueContext, IssuedToken, TokenProvider } from './provider.ts';
import { nonEmptyString, parseProviderBody } from './response-schema.ts';
import { jwtExpiry, settleExpiry } from './token-checks.ts';

const credentialsSchema = v.object({ client_id: nonEmptyString, client_secret: nonEmptyString });
const optionsSchema = v.optional(v.strictObject({}), {});

type PaypackCredentials = v.InferOutput<typeof credentialsSchema>;
type PaypackOptions = v.InferOutput<typeof optionsSchema>;
type Context = IssueContext<PaypackCredentials, PaypackOptions>;

/** `expires` is absolute Unix seconds; the docs' sample shows it quoted, so a numeric string is accepted too. */
const unixSeconds = v.union([
  v.pipe(v.number(), v.integer(), v.minValue(0)),
  v.pipe(v.string(), v.regex(/^\d{1,12}$/), v.transform(Number)),
]);

const tokenResponseSchema = v.looseObject({
  access: nonEmptyString,
  refresh: nonEmptyString,
  expires: unixSeconds,
});

/** `refresh: null` records a token that was presented without a new one coming back: never present it again. */
const privateStateSchema = v.object({ refresh: v.nullable(nonEmptyString) });
const SPENT_STATE = JSON.stringify({ refresh: null });

/** Paypack issues 15-minute access tokens. */
const ACCESS_TOKEN_SECONDS = 900;
/** Accept up to a day in case Paypack lengthens tokens; anything further is a broken reply. */
const MAX_PLAUSIBLE_SECONDS = 86_400;

/** The SDKs' refresh path and the docs' one; which the live server serves is unknown, so both are tried. */
const REFRESH_ROUTES = [
  { label: 'refresh (SDK path)', path: (token: string) => `/auth/refresh/${encodeURIComponent(token)}` },
  {
    label: 'refresh (docs path)',
    path: (token: string) => `/auth/agents/refresh/${encodeURIComponent(token)}`,
  },
] as const;

/**
 * Paypack: authorize with client_id/client_secret; refresh with the single-use
 * refresh token kept in the source's private parameter.
 */
/** A lone surrogate cannot be percent-encoded into the refresh URL: such a stored token means "authorize". */
function isPresentable(token: string): boolean {
  try {
    encodeURIComponent(token);
    return true;
  } catch {
    return false;
  }
}

export class PaypackProvider implements TokenProvider<PaypackCredentials, PaypackOptions> {
  readonly name = 'paypack';
  readonly credentialsSchema = credentialsSchema;
  readonly optionsSchema = optionsSchema;
  readonly usesPrivateState = true;
  /** Per base URL, how many refresh routes answered 404 and are skipped for the rest of this container's life. */
  readonly #missingRoutes = new Map<string, number>();

  tokenLifetimeSeconds(): number {
    return ACCESS_TOKEN_SECONDS;
  }

  defaultRefreshThresholdSeconds(): number {
    return 600;
  }

  /** Documented as harmless: reads the merchant the token belongs to. */
  probePath(): string {
    return '/merchants/me';
  }

  async issueToken(context: Context): Promise<IssuedToken> {
    const refreshToken = this.#usableRefreshToken(context);
    if (refreshToken) {
      const refreshed = await this.#refresh(context, refreshToken);
      if (refreshed) return refreshed;
    }
    return this.#authorize(context);
  }

  #usableRefreshToken(context: Context): string | undefined {
    if (context.privateState === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(context.privateState);
    } catch {
      context.note('stored refresh state is unreadable; authorizing instead');
      return undefined;
    }
    const state = v.safeParse(privateStateSchema, parsed);
    if (!state.success) {
      context.note('stored refresh state is malformed; authorizing instead');
      return undefined;
    }
    if (state.output.refresh === null) return undefined;
    context.markSensitive(state.output.refresh);
    if (!isPresentable(state.output.refresh)) {
      context.note('stored refresh token cannot be put in a URL; authorizing instead');
      return undefined;
    }
    const expiresAt = jwtExpiry(state.output.refresh);
    if (expiresAt && expiresAt.getTime() <= context.now + 5_000) {
      context.note('stored refresh token has expired; authorizing instead');
      return undefined;
    }
    return state.output.refresh;
  }

  /**
   * Presents the refresh token at most once, ever. It is recorded as spent before
   * it leaves (write-ahead), so a crash, a deadline or a failed write after this
   * point can never lead to a second presentation; if that record cannot be
   * written, the token is not presented and the caller authorizes instead.
   * Returns undefined when the token is refused or no refresh path exists.
   * A 404 means "no such route": the next path is tried with the same token.
   */
  async #refresh(context: Context, refreshToken: string): Promise<IssuedToken | undefined> {
    const skipped = this.#missingRoutes.get(context.baseUrl) ?? 0;
    if (skipped >= REFRESH_ROUTES.length) return undefined;
    try {
      await context.savePrivateState(SPENT_STATE);
    } catch {
      context.note('could not record the refresh token as spent before presenting it; authorizing instead');
      return undefined;
    }
    for (const [index, route] of REFRESH_ROUTES.entries()) {
      if (index < skipped) continue;
      try {
        const response = await context.http.send({
          route: route.label,
          method: 'GET',
          url: joinUrl(context.baseUrl, route.path(refreshToken)),
          retry: false,
        });
        return this.#toIssuedToken(context, route.label, response.body);
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        if (error.status === 404) {
          this.#missingRoutes.set(context.baseUrl, index + 1);
          context.note(`${route.label} answered 404`);
          continue;
        }
        if (error.code === 'DEADLINE_EXCEEDED') throw error;
        context.note(`${route.label} failed; authorizing instead`, {
          code: error.code,
          status: error.status ?? 0,
        });
        return undefined;
      }
    }
    return undefined;
  }

  async #authorize(context: Context): Promise<IssuedToken> {
    const response = await context.http.send({
      route: 'authorize',
      method: 'POST',
      url: joinUrl(context.baseUrl, '/auth/agents/authorize'),
      body: { client_id: context.credentials.client_id, client_secret: context.credentials.client_secret },
      retry: true,
    });
    return this.#toIssuedToken(context, 'authorize', response.body);
  }

  #toIssuedToken(context: Context, route: string, body: unknown): IssuedToken {
    const where = { sourceId: context.sourceId, provider: this.name, route };
    if (typeof body === 'object' && body !== null) {
      const record = body as Record<string, unknown>;
      for (const field of ['access', 'refresh'] as const) {
        if (typeof record[field] === 'string') context.markSensitive(record[field]);
      }
    }
    const reply = parseProviderBody(tokenResponseSchema, body, where);
    const { expiresAt, issuedAt } = settleExpiry({
      sourceId: context.sourceId,
      provider: this.name,
      token: reply.access,
      reportedExpiresAt: new Date(reply.expires * 1000),
      now: context.now,
      maxLifetimeSeconds: MAX_PLAUSIBLE_SECONDS,
      note: context.note,
    });
    return {
      token: reply.access,
      expiresAt,
      issuedAt,
      privateState: JSON.stringify({ refresh: reply.refresh }),
    };
  }
}
