import * as v from 'valibot';
import { ProviderError, StoreError } from '../errors.ts';
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

/**
 * `refresh: null` records a token that was presented without a new one coming back: never present it again.
 * `route` is the refresh path that served this source last (absent until one has: state written before
 * routes were remembered reads the same way, so it needs no migration).
 */
const privateStateSchema = v.object({
  refresh: v.nullable(nonEmptyString),
  route: v.optional(v.picklist(['sdk', 'docs'])),
});
type RouteName = 'sdk' | 'docs';
interface StoredState {
  refresh: string | undefined;
  route: RouteName | undefined;
}
const stateJson = (refresh: string | null, route: RouteName | undefined) =>
  JSON.stringify(route === undefined ? { refresh } : { refresh, route });

/** Paypack issues 15-minute access tokens. */
const ACCESS_TOKEN_SECONDS = 900;
/** Accept up to a day in case Paypack lengthens tokens; anything further is a broken reply. */
const MAX_PLAUSIBLE_SECONDS = 86_400;

/** The SDKs' refresh path and the docs' one; which the live server serves is unknown, so both may be tried. */
const REFRESH_ROUTES: readonly { name: RouteName; label: string; path: (token: string) => string }[] = [
  { name: 'sdk', label: 'refresh (SDK path)', path: (token) => `/auth/refresh/${encodeURIComponent(token)}` },
  {
    name: 'docs',
    label: 'refresh (docs path)',
    path: (token) => `/auth/agents/refresh/${encodeURIComponent(token)}`,
  },
];

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
    const state = this.#storedState(context);
    if (state.refresh) {
      const refreshed = await this.#refresh(context, state.refresh, state.route);
      if (refreshed) return refreshed;
    }
    return this.#authorize(context, state.route);
  }

  #storedState(context: Context): StoredState {
    const none = { refresh: undefined, route: undefined };
    if (context.privateState === undefined) return none;
    let parsed: unknown;
    try {
      parsed = JSON.parse(context.privateState);
    } catch {
      context.note('stored refresh state is unreadable; authorizing instead');
      return none;
    }
    const state = v.safeParse(privateStateSchema, parsed);
    if (!state.success) {
      context.note('stored refresh state is malformed; authorizing instead');
      return none;
    }
    const { refresh, route } = state.output;
    if (refresh === null) return { refresh: undefined, route };
    context.markSensitive(refresh);
    if (!isPresentable(refresh)) {
      context.note('stored refresh token cannot be put in a URL; authorizing instead');
      return { refresh: undefined, route };
    }
    const expiresAt = jwtExpiry(refresh);
    if (expiresAt && expiresAt.getTime() <= context.now + 5_000) {
      context.note('stored refresh token has expired; authorizing instead');
      return { refresh: undefined, route };
    }
    return { refresh, route };
  }

  /**
   * Presents the refresh token at most once, ever. It is recorded as spent before
   * it leaves (write-ahead), so a crash, a deadline or a failed write after this
   * point can never lead to a second presentation; if that record cannot be
   * written, the token is not presented and the caller authorizes instead.
   * Returns undefined when the token is refused or no refresh path serves.
   *
   * Once a path has served this source (`known`), only that path is used, and a
   * 404 from it is a refusal. A source no path has served yet may go on to the
   * docs path only when the SDK path's 404 carries no JSON (a missing route, not
   * the application saying "no such token"), so a token is never presented twice.
   */
  async #refresh(context: Context, refreshToken: string, known: RouteName | undefined) {
    try {
      await context.savePrivateState(stateJson(null, known));
    } catch (error) {
      // Only a failed write means "authorize instead"; a lost lease or too little time ends the run.
      if (!(error instanceof StoreError)) throw error;
      context.note('could not record the refresh token as spent before presenting it; authorizing instead');
      return undefined;
    }
    const routes = known ? REFRESH_ROUTES.filter((route) => route.name === known) : REFRESH_ROUTES;
    for (const [index, route] of routes.entries()) {
      try {
        const response = await context.http.send({
          route: route.label,
          method: 'GET',
          url: joinUrl(context.baseUrl, route.path(refreshToken)),
          retry: false,
          answerStatuses: [404],
        });
        if (response.status === 404) {
          context.note(
            `${route.label} answered 404 with JSON: the refresh token was refused; authorizing instead`,
          );
          return undefined;
        }
        return this.#toIssuedToken(context, route.label, response.body, {
          route: route.name,
          presented: refreshToken,
        });
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        const another = index < routes.length - 1;
        if (error.status === 404 && another) {
          context.note(`${route.label} answered 404 without JSON (no such route); trying the next path`);
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

  async #authorize(context: Context, known: RouteName | undefined): Promise<IssuedToken> {
    const response = await context.http.send({
      route: 'authorize',
      method: 'POST',
      url: joinUrl(context.baseUrl, '/auth/agents/authorize'),
      body: { client_id: context.credentials.client_id, client_secret: context.credentials.client_secret },
      retry: true,
    });
    return this.#toIssuedToken(context, 'authorize', response.body, { route: known, presented: undefined });
  }

  #toIssuedToken(
    context: Context,
    label: string,
    body: unknown,
    via: { route: RouteName | undefined; presented: string | undefined },
  ): IssuedToken {
    const where = { sourceId: context.sourceId, provider: this.name, route: label };
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
    // A refresh that hands back the token it was given has not renewed it: that token stays spent.
    const renewed = reply.refresh !== via.presented;
    if (!renewed) context.note(`${label} returned the refresh token it was given; storing it as spent`);
    return {
      token: reply.access,
      expiresAt,
      issuedAt,
      privateState: stateJson(renewed ? reply.refresh : null, via.route),
    };
  }
}
