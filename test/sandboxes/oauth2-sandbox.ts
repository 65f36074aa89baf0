import { randomBytes } from 'node:crypto';
import { type JsonReply, RateLimiter, SandboxServer } from './sandbox-server.ts';

export interface OAuth2SandboxOptions {
  /** Life of the opaque access tokens, reported as expires_in. Default 300 s. */
  accessTokenTtlSeconds?: number;
  rateLimitPerMinute?: number;
  now?: () => number;
}

/**
 * A small OAuth 2.0 client credentials server (RFC 6749 §4.4) with the
 * sandboxes' fault injection, for the fault matrix and the freshness
 * simulation. Conformance is proven against oidc-provider separately
 * (test/integration/oauth2-oidc-provider.test.ts); this one exists because
 * faults and a simulated clock need a server we control.
 */
export class OAuth2Sandbox {
  readonly server: SandboxServer;
  /** Opaque tokens issued, with their expiry (ms). */
  readonly issued: { token: string; expiresAtMs: number }[] = [];
  readonly #clients = new Map<string, string>();
  readonly #limiter: RateLimiter;
  readonly #now: () => number;
  readonly #ttlSeconds: number;

  constructor(options: OAuth2SandboxOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#ttlSeconds = options.accessTokenTtlSeconds ?? 300;
    this.#limiter = new RateLimiter(options.rateLimitPerMinute ?? 300);
    this.server = new SandboxServer(() => ({ status: 404, body: { error: 'not_found' } }), this.#now);
    this.server.route('token', 'POST', /^\/oauth\/token$/, ({ body, headers }) =>
      this.#token(body, typeof headers.authorization === 'string' ? headers.authorization : undefined),
    );
    // A resource endpoint on the same host, for the opt-in probe before publishing.
    this.server.route('me', 'GET', /^\/v1\/me$/, async ({ headers }) => {
      const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
      if (!bearer || !(await this.isLive(bearer))) return oauthError(401, 'invalid_token');
      return { status: 200, body: { ok: true } };
    });
  }

  addClient(clientId: string, clientSecret: string): void {
    this.#clients.set(clientId, clientSecret);
  }

  start(port = 0): Promise<string> {
    return this.server.start(port);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  async isLive(token: string): Promise<boolean> {
    const issued = this.issued.find((entry) => entry.token === token);
    return issued !== undefined && issued.expiresAtMs > this.#now();
  }

  #token(body: unknown, authorization: string | undefined): JsonReply {
    const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, string>;
    if (form.grant_type !== 'client_credentials') return oauthError(400, 'unsupported_grant_type');
    const client = clientFrom(form, authorization);
    if (!client) return oauthError(401, 'invalid_client');
    if (!this.#limiter.allow(client.id, this.#now())) return oauthError(429, 'slow_down');
    if (this.#clients.get(client.id) !== client.secret) return oauthError(401, 'invalid_client');
    const token = randomBytes(24).toString('base64url');
    this.issued.push({ token, expiresAtMs: this.#now() + this.#ttlSeconds * 1000 });
    return {
      status: 200,
      body: { access_token: token, token_type: 'Bearer', expires_in: this.#ttlSeconds },
    };
  }
}

/** client_secret_basic (form-urlencoded id and secret, RFC 6749 §2.3.1) or client_secret_post. */
function clientFrom(
  form: Record<string, string>,
  authorization: string | undefined,
): { id: string; secret: string } | undefined {
  const basic = /^Basic (.+)$/i.exec(authorization ?? '')?.[1];
  if (basic) {
    const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
    const decode = (value: string | undefined) => new URLSearchParams(`v=${value ?? ''}`).get('v') ?? '';
    return { id: decode(id), secret: decode(secret) };
  }
  if (form.client_id && form.client_secret) return { id: form.client_id, secret: form.client_secret };
  return undefined;
}

function oauthError(status: number, error: string): JsonReply {
  return { status, body: { error, error_description: `sandbox: ${error}` } };
}
