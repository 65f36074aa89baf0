import { randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';
import { type JsonReply, RateLimiter, SandboxServer } from './sandbox-server.ts';

export interface PapayaSandboxOptions {
  rateLimitPerMinute?: number;
  now?: () => number;
}

export interface IssuedPapayaToken {
  token: string;
  tokenName: string;
  /** The JWT's exact exp, in ms. */
  expiresAtMs: number;
  validUntil: string;
}

/**
 * Emulates Papaya Global's POST /token from the facts in shared/providers.md:
 * RS256 JWTs with iat/exp/sub/user, `valid_until` truncated to the minute,
 * `{ "error": ... }` bodies, and a rate limit (Papaya's own is undocumented).
 */
export class PapayaSandbox {
  readonly server: SandboxServer;
  readonly issued: IssuedPapayaToken[] = [];
  readonly #keys = new Map<string, string>();
  readonly #limiter: RateLimiter;
  readonly #now: () => number;
  #signingKey: Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }>;

  constructor(options: PapayaSandboxOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#limiter = new RateLimiter(options.rateLimitPerMinute ?? 120);
    this.#signingKey = generateKeyPair('RS256');
    this.server = new SandboxServer(() => ({ status: 404, body: { error: 'Not found' } }), this.#now);
    this.server.route('token', 'POST', /^\/token$/, ({ body }) => this.#token(body));
    // The docs' harmless probe (its host is unknown in real life; here it sits beside /token).
    this.server.route('wallets', 'GET', /^\/payments\/wallets$/, async ({ headers }) => {
      const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
      if (!bearer || !(await this.isLive(bearer))) return { status: 401, body: { error: 'Unauthorized' } };
      return { status: 200, body: { items: [] } };
    });
  }

  addApiKey(apiKey: string, clientSecret: string): void {
    this.#keys.set(apiKey, clientSecret);
  }

  start(port = 0): Promise<string> {
    return this.server.start(port);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  async publicJwk(): Promise<JWK> {
    return exportJWK((await this.#signingKey).publicKey);
  }

  async isLive(token: string): Promise<boolean> {
    try {
      await jwtVerify(token, (await this.#signingKey).publicKey, { currentDate: new Date(this.#now()) });
      return true;
    } catch {
      return false;
    }
  }

  async #token(body: unknown): Promise<JsonReply> {
    const fields = (body ?? {}) as Record<string, unknown>;
    const { api_key: apiKey, client_secret: clientSecret } = fields;
    const expiration = fields.expiration ?? 86_400;
    const tokenName = fields.token_name ?? randomUUID();
    if (typeof apiKey !== 'string' || typeof clientSecret !== 'string') return invalid(400);
    if (typeof expiration !== 'number' || !Number.isInteger(expiration) || expiration <= 0)
      return invalid(400);
    if (typeof tokenName !== 'string') return invalid(400);
    if (!this.#limiter.allow(apiKey, this.#now()))
      return { status: 429, body: { error: 'Too many requests' } };
    if (this.#keys.get(apiKey) !== clientSecret) return invalid(401);

    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + expiration;
    const token = await new SignJWT({
      sub: 'access',
      user: { id: apiKey, email: 'sandbox@example.invalid', owner: { id: '201000', ownerType: 'org_id' } },
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'APIKEY0', api_token_id: randomUUID() })
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign((await this.#signingKey).privateKey);
    const validUntil = truncateToMinute(exp * 1000);
    this.issued.push({ token, tokenName, expiresAtMs: exp * 1000, validUntil });
    return { status: 200, body: { valid_until: validUntil, token, token_name: tokenName } };
  }
}

/** "2024-07-11T07:48Z": Papaya's format, seconds dropped. */
export function truncateToMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

function invalid(status: number): JsonReply {
  return { status, body: { error: 'Invalid request' } };
}
