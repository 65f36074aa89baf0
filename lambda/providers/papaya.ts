import * as v from 'valibot';
import { joinUrl } from '../http/url-policy.ts';
import type { IssueContext, IssuedToken, TokenProvider } from './provider.ts';
import { nonEmptyString, parseProviderBody } from './response-schema.ts';
import { settleExpiry } from './token-checks.ts';

const credentialsSchema = v.object({ api_key: nonEmptyString, client_secret: nonEmptyString });

const DEFAULT_EXPIRATION_SECONDS = 86_400;
/** Papaya's maximum TTL is undocumented (100001 s was accepted in its docs); a week bounds typos. */
const MAX_EXPIRATION_SECONDS = 7 * 86_400;

const optionsSchema = v.optional(
  v.strictObject({
    expirationSeconds: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(300), v.maxValue(MAX_EXPIRATION_SECONDS)),
      DEFAULT_EXPIRATION_SECONDS,
    ),
    tokenName: v.optional(v.pipe(v.string(), v.regex(/^[\w.:-]{1,128}$/))),
    /** A harmless GET under the base URL to try each new token on before publishing; none is known, so off by default. */
    probePath: v.optional(
      v.pipe(
        v.string(),
        v.regex(
          /^\/[\w.~/-]*(\?[\w.~=&-]*)?$/,
          'must be a path under the base URL, e.g. /payments/wallets?take=1',
        ),
      ),
    ),
  }),
  { expirationSeconds: DEFAULT_EXPIRATION_SECONDS },
);

type PapayaCredentials = v.InferOutput<typeof credentialsSchema>;
type PapayaOptions = v.InferOutput<typeof optionsSchema>;

/** ISO 8601 UTC, seconds optional: Papaya sends "2024-07-11T07:48Z", truncated to the minute. */
const validUntil = v.pipe(
  v.string(),
  v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/),
  v.transform((text) => new Date(text)),
  v.check((date) => !Number.isNaN(date.getTime())),
);

const tokenResponseSchema = v.looseObject({ token: nonEmptyString, valid_until: validUntil });

/** Tolerance for clock skew between Papaya and us when judging "implausibly far". */
const SKEW_ALLOWANCE_SECONDS = 300;

/**
 * Papaya Global Workforce Payments: one POST /token per refresh (there is no
 * refresh endpoint). The token is named after the deployment and source so it
 * can be told apart in Papaya's records.
 */
export class PapayaProvider implements TokenProvider<PapayaCredentials, PapayaOptions> {
  readonly name = 'papaya';
  readonly credentialsSchema = credentialsSchema;
  readonly optionsSchema = optionsSchema;
  readonly usesPrivateState = false;

  tokenLifetimeSeconds(options: PapayaOptions): number {
    return options.expirationSeconds;
  }

  defaultRefreshThresholdSeconds(options: PapayaOptions): number {
    return Math.floor(options.expirationSeconds / 2);
  }

  probePath(options: PapayaOptions): string | undefined {
    return options.probePath;
  }

  async issueToken(context: IssueContext<PapayaCredentials, PapayaOptions>): Promise<IssuedToken> {
    const { options } = context;
    const response = await context.http.send({
      route: 'token',
      method: 'POST',
      url: joinUrl(context.baseUrl, '/token'),
      body: {
        api_key: context.credentials.api_key,
        client_secret: context.credentials.client_secret,
        expiration: options.expirationSeconds,
        token_name: options.tokenName ?? defaultTokenName(context.deploymentName, context.sourceId),
      },
      retry: true,
    });
    const body = response.body as { token?: unknown } | null;
    if (typeof body?.token === 'string') context.markSensitive(body.token);
    const reply = parseProviderBody(tokenResponseSchema, response.body, {
      sourceId: context.sourceId,
      provider: this.name,
      route: 'token',
    });
    const { expiresAt, issuedAt } = settleExpiry({
      sourceId: context.sourceId,
      provider: this.name,
      token: reply.token,
      reportedExpiresAt: reply.valid_until,
      now: context.now,
      maxLifetimeSeconds: options.expirationSeconds + SKEW_ALLOWANCE_SECONDS,
      note: context.note,
    });
    return { token: reply.token, expiresAt, issuedAt };
  }
}

export function defaultTokenName(deploymentName: string, sourceId: string): string {
  return `${deploymentName}-${sourceId}`.replace(/[^\w.:-]/g, '-').slice(0, 128);
}
