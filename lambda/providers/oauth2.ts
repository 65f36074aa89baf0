import * as v from 'valibot';
import { ProviderError, type ProviderProblem } from '../errors.ts';
import { joinUrl } from '../http/url-policy.ts';
import type { IssueContext, IssuedToken, TokenProvider } from './provider.ts';
import { nonEmptyString, parseProviderBody } from './response-schema.ts';
import { settleExpiry } from './token-checks.ts';

const credentialsSchema = v.object({ client_id: nonEmptyString, client_secret: nonEmptyString });

/** Longest token life a source may state or a server may grant; anything further is a broken reply. */
const MAX_LIFETIME_SECONDS = 7 * 86_400;
const lifetime = v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(MAX_LIFETIME_SECONDS));

/** RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B / %x5D-7E, separated by single spaces. */
const scopeSchema = v.pipe(
  v.string(),
  v.regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'must be space-separated scope tokens'),
);

/** RFC 8707 §2: an absolute URI without a fragment. */
const resourceUri = v.pipe(
  v.string(),
  v.check((text) => {
    try {
      const url = new URL(text);
      return !text.includes('#') && url.protocol.length > 1;
    } catch {
      return false;
    }
  }, 'must be an absolute URI without a fragment'),
);

/** Parameters the provider sets itself: an extra parameter may not override or duplicate them. */
const RESERVED_PARAMETERS = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'scope',
  'audience',
  'resource',
]);

const extraParameters = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.~-]{1,64}$/, 'names must be 1-64 letters, digits, "_.~-"')),
    v.pipe(v.string(), v.maxLength(1024)),
  ),
  v.check(
    (record) => Object.keys(record).every((name) => !RESERVED_PARAMETERS.has(name)),
    `must not set ${[...RESERVED_PARAMETERS].join(', ')} (use the dedicated options; credentials come from the secret)`,
  ),
  v.check((record) => Object.keys(record).length <= 20, 'may hold at most 20 parameters'),
);

const optionsSchema = v.strictObject({
  /** The token endpoint: a path under the source's base URL ("/oauth2/token") or an absolute URL inside it. */
  tokenUrl: nonEmptyString,
  clientAuthentication: v.optional(
    v.picklist(['client_secret_basic', 'client_secret_post']),
    'client_secret_basic',
  ),
  scope: v.optional(scopeSchema),
  audience: v.optional(v.pipe(v.string(), v.nonEmpty(), v.maxLength(1024))),
  resource: v.optional(v.union([resourceUri, v.pipe(v.array(resourceUri), v.minLength(1), v.maxLength(10))])),
  extraParameters: v.optional(extraParameters),
  /** How long the server's tokens live: the schedule and thresholds are checked against it. */
  expectedLifetimeSeconds: lifetime,
  /** Taken as the lifetime when the server omits `expires_in` and the token carries no `exp`. */
  defaultLifetimeSeconds: v.optional(lifetime),
  /** Opt-in: a harmless GET under the base URL that a new token must pass before it is published. */
  probePath: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\/[\w.~/-]*(\?[\w.~=&-]*)?$/, 'must be a path under the base URL, e.g. /v1/identity/me'),
    ),
  ),
});

type OAuth2Credentials = v.InferOutput<typeof credentialsSchema>;
type OAuth2Options = v.InferOutput<typeof optionsSchema>;
type Context = IssueContext<OAuth2Credentials, OAuth2Options>;

/** RFC 6749 §5.1 allows a JSON number; some servers send a numeric string. */
const expiresInSchema = v.union([
  v.pipe(v.number(), v.finite(), v.integer(), v.minValue(1)),
  v.pipe(v.string(), v.regex(/^\d{1,9}$/), v.transform(Number), v.minValue(1)),
]);

const tokenResponseSchema = v.looseObject({
  access_token: nonEmptyString,
  token_type: v.optional(v.string()),
  expires_in: v.optional(expiresInSchema),
});

/**
 * RFC 6749 §5.2 plus RFC 8707's invalid_target: only these are named in errors.
 * Anything else the server says (other codes, error_description, error_uri) may
 * echo the request, so it never reaches a log.
 */
const REGISTERED_ERRORS: Readonly<Record<string, ProviderProblem>> = {
  invalid_client: 'PROVIDER_AUTH_REJECTED',
  unauthorized_client: 'PROVIDER_AUTH_REJECTED',
  invalid_request: 'PROVIDER_CLIENT_ERROR',
  invalid_grant: 'PROVIDER_CLIENT_ERROR',
  unsupported_grant_type: 'PROVIDER_CLIENT_ERROR',
  invalid_scope: 'PROVIDER_CLIENT_ERROR',
  invalid_target: 'PROVIDER_CLIENT_ERROR',
};

/** Statuses whose OAuth error body this provider explains itself (RFC 6749 §5.2 uses 400 and 401). */
const ERROR_STATUSES = [400, 401, 403] as const;

/** A token may lose this much to latency and whole-second rounding before it counts as shorter than stated. */
const LIFETIME_TOLERANCE_SECONDS = 30;

/**
 * Any OAuth 2.0 authorization server, client credentials grant (RFC 6749 §4.4),
 * configured per source. Tokens may be JWTs or opaque; clients authenticate
 * with their secret (HTTP Basic or in the form). No private state: each refresh
 * is a new grant.
 */
export class OAuth2Provider implements TokenProvider<OAuth2Credentials, OAuth2Options> {
  readonly name = 'oauth2';
  readonly credentialsSchema = credentialsSchema;
  readonly optionsSchema = optionsSchema;
  readonly usesPrivateState = false;

  tokenLifetimeSeconds(options: OAuth2Options): number {
    return options.expectedLifetimeSeconds;
  }

  defaultRefreshThresholdSeconds(options: OAuth2Options): number {
    return Math.floor(options.expectedLifetimeSeconds / 2);
  }

  probePath(options: OAuth2Options): string | undefined {
    return options.probePath;
  }

  sourceProblem(baseUrl: string, options: OAuth2Options): string | undefined {
    const resolved = resolveTokenUrl(baseUrl, options.tokenUrl);
    return typeof resolved === 'string' ? `field "options.tokenUrl" ${resolved}` : undefined;
  }

  async issueToken(context: Context): Promise<IssuedToken> {
    const { options, credentials } = context;
    const url = resolveTokenUrl(context.baseUrl, options.tokenUrl);
    if (typeof url === 'string') {
      throw new ProviderError(context.sourceId, 'PROVIDER_CLIENT_ERROR', `options.tokenUrl ${url}`);
    }
    const post = options.clientAuthentication === 'client_secret_post';
    const form: [string, string][] = [['grant_type', 'client_credentials']];
    if (post) form.push(['client_id', credentials.client_id], ['client_secret', credentials.client_secret]);
    if (options.scope !== undefined) form.push(['scope', options.scope]);
    if (options.audience !== undefined) form.push(['audience', options.audience]);
    for (const resource of [options.resource ?? []].flat()) form.push(['resource', resource]);
    form.push(...Object.entries(options.extraParameters ?? {}));

    const authorization = basicAuthorization(credentials.client_id, credentials.client_secret);
    context.markSensitive(authorization.slice('Basic '.length));
    // Sent now: expires_in counts from here, not from whenever the answer arrives.
    const sentAt = context.now;
    const response = await context.http.send({
      route: 'token',
      method: 'POST',
      url,
      form,
      ...(post ? {} : { headers: { Authorization: authorization } }),
      answerStatuses: ERROR_STATUSES,
      retry: true,
    });
    const body = response.body as Record<string, unknown> | null;
    for (const field of ['access_token', 'refresh_token', 'id_token'])
      if (typeof body?.[field] === 'string') context.markSensitive(body[field] as string);
    if (response.status >= 300) throw oauthError(context.sourceId, response.status, body);

    const reply = parseProviderBody(tokenResponseSchema, body, {
      sourceId: context.sourceId,
      provider: this.name,
      route: 'token',
    });
    if (reply.token_type === undefined)
      context.note('token response has no token_type; publishing as Bearer');
    else if (reply.token_type.toLowerCase() !== 'bearer') {
      throw new ProviderError(
        context.sourceId,
        'PROVIDER_BAD_RESPONSE',
        `${this.name} token answered with a token_type other than Bearer (DPoP, MAC and others are not supported)`,
      );
    }
    const lifetimeSeconds = reply.expires_in ?? options.defaultLifetimeSeconds;
    if (reply.expires_in === undefined && options.defaultLifetimeSeconds !== undefined)
      context.note('token response has no expires_in; using options.defaultLifetimeSeconds');
    const { expiresAt, issuedAt } = settleExpiry({
      sourceId: context.sourceId,
      provider: this.name,
      token: reply.access_token,
      tokenFormat: 'opaque-or-jwt',
      reportedExpiresAt:
        lifetimeSeconds === undefined ? undefined : new Date(sentAt + lifetimeSeconds * 1000),
      now: sentAt,
      maxLifetimeSeconds: MAX_LIFETIME_SECONDS,
      note: context.note,
    });
    this.#reportShortLife(context, (expiresAt.getTime() - sentAt) / 1000);
    return { token: reply.access_token, expiresAt, issuedAt };
  }

  /** The schedule was checked against the stated life; a shorter one may not survive a failed run. */
  #reportShortLife(context: Context, lifetimeSeconds: number): void {
    const expected = context.options.expectedLifetimeSeconds;
    const shortfall = Math.round(expected - lifetimeSeconds);
    if (shortfall <= LIFETIME_TOLERANCE_SECONDS) return;
    context.warn(
      'TOKEN_SHORTER_THAN_EXPECTED',
      'token lives shorter than options.expectedLifetimeSeconds; the schedule may not bridge a failed run',
      {
        lifetimeSeconds: Math.round(lifetimeSeconds),
        expectedLifetimeSeconds: expected,
        lifetimeShortfallSeconds: shortfall,
      },
    );
  }
}

/**
 * The token endpoint, which must lie inside the source's base URL (same origin,
 * under its path): the deployment pins base URLs, so an option cannot send the
 * client secret elsewhere. Returns a problem description instead when it does not.
 */
export function resolveTokenUrl(baseUrl: string, tokenUrl: string): URL | string {
  let base: URL;
  let url: URL;
  try {
    base = new URL(baseUrl);
    url = tokenUrl.startsWith('/') ? joinUrl(baseUrl, tokenUrl) : new URL(tokenUrl);
  } catch {
    return 'must be a path such as "/oauth2/token" or an absolute URL';
  }
  if (url.username || url.password || url.hash || tokenUrl.includes('#'))
    return 'must not embed credentials or a fragment';
  const basePath = base.pathname.replace(/\/+$/, '');
  const underBase = url.pathname === basePath || url.pathname.startsWith(`${basePath}/`);
  if (url.origin !== base.origin || !underBase)
    return "must lie inside the source's baseUrl (same origin, under its path)";
  return url;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

function oauthError(sourceId: string, status: number, body: Record<string, unknown> | null): ProviderError {
  const said = typeof body?.error === 'string' ? body.error : undefined;
  const registered = said !== undefined && Object.hasOwn(REGISTERED_ERRORS, said) ? said : undefined;
  const code: ProviderProblem =
    status === 401 || status === 403
      ? 'PROVIDER_AUTH_REJECTED'
      : registered
        ? (REGISTERED_ERRORS[registered] as ProviderProblem)
        : 'PROVIDER_CLIENT_ERROR';
  const what = registered
    ? `error "${registered}"`
    : said === undefined
      ? 'no OAuth error code'
      : 'an unregistered error code';
  const hint = code === 'PROVIDER_AUTH_REJECTED' ? ' (client credentials refused)' : '';
  return new ProviderError(sourceId, code, `oauth2 token answered HTTP ${status} with ${what}${hint}`, {
    status,
  });
}
