import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { type JsonReply, missingRoute, RateLimiter, SandboxServer } from './sandbox-server.ts';

export type PaypackRefreshPath = 'sdk' | 'docs';

export interface PaypackSandboxOptions {
  /** Which refresh routes exist; the live server's is unknown, so tests vary it. Default: the SDK path only. */
  refreshPaths?: PaypackRefreshPath[];
  accessTtlSeconds?: number;
  refreshTtlSeconds?: number;
  /** Requests per minute per application (Paypack documents 300). */
  rateLimitPerMinute?: number;
  /** Send `expires` as a quoted string, as the docs' sample shows. */
  expiresAsString?: boolean;
  now?: () => number;
}

interface RefreshRecord {
  clientId: string;
  expiresAt: number;
  usedAt?: number;
}

const PREFIX = '/api';

/**
 * Emulates Paypack's agent auth API from the facts in shared/providers.md:
 * HS256 access and refresh JWTs, single-use refresh tokens, 15-minute access
 * tokens, `{status, message}` error bodies and a per-application rate limit.
 */
export class PaypackSandbox {
  readonly server: SandboxServer;
  /** Every access and refresh token issued, for leak scans. */
  readonly issued: string[] = [];
  /** Refresh tokens presented again after they were spent: must stay empty. */
  readonly reusedRefreshTokens: string[] = [];
  /** Every refresh token presented, in order (spent or not). */
  readonly presentedRefreshTokens: string[] = [];
  /** Called with the client's id once a presented refresh token has been spent, before the answer is sent (tests crash a run here). */
  onRefreshSpent: ((clientId: string) => void) | undefined;
  readonly #applications = new Map<string, string>();
  readonly #refreshTokens = new Map<string, RefreshRecord>();
  readonly #revokedAccess = new Set<string>();
  readonly #key = new TextEncoder().encode(randomUUID() + randomUUID());
  readonly #limiter: RateLimiter;
  readonly #options: Required<Omit<PaypackSandboxOptions, 'now'>>;
  readonly #now: () => number;

  constructor(options: PaypackSandboxOptions = {}) {
    this.#options = {
      refreshPaths: options.refreshPaths ?? ['sdk'],
      accessTtlSeconds: options.accessTtlSeconds ?? 900,
      refreshTtlSeconds: options.refreshTtlSeconds ?? 432_000,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 300,
      expiresAsString: options.expiresAsString ?? false,
    };
    this.#now = options.now ?? Date.now;
    this.#limiter = new RateLimiter(this.#options.rateLimitPerMinute);
    this.server = new SandboxServer((path) => missingRoute('GET', path), this.#now);
    this.server.route('authorize', 'POST', /^\/api\/auth\/agents\/authorize$/, ({ body }) =>
      this.#authorize(body),
    );
    this.server.route('refresh-sdk', 'GET', /^\/api\/auth\/refresh\/([^/]+)$/, ({ params }) =>
      this.#refresh('sdk', params[0] ?? ''),
    );
    this.server.route('refresh-docs', 'GET', /^\/api\/auth\/agents\/refresh\/([^/]+)$/, ({ params }) =>
      this.#refresh('docs', params[0] ?? ''),
    );
    // The documented harmless "does this token work" call.
    this.server.route('merchant', 'GET', /^\/api\/merchants\/me$/, async ({ headers }) => {
      const bearer = /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
      if (!bearer || this.#revokedAccess.has(bearer) || !(await this.isLive(bearer)))
        return error(401, 'unauthorized');
      return { status: 200, body: { id: 'merchant', name: 'Sandbox merchant' } };
    });
  }

  /** Makes the sandbox refuse every access token issued so far (an application whose rights were withdrawn). */
  revokeIssuedAccessTokens(): void {
    for (const token of this.issued) this.#revokedAccess.add(token);
  }

  addApplication(clientId: string, clientSecret: string): void {
    this.#applications.set(clientId, clientSecret);
  }

  setRefreshPaths(paths: PaypackRefreshPath[]): void {
    this.#options.refreshPaths = paths;
  }

  async start(port = 0): Promise<string> {
    return `${await this.server.start(port)}${PREFIX}`;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** Whether an access token is one this sandbox issued and has not expired. */
  async isLive(accessToken: string): Promise<boolean> {
    try {
      await jwtVerify(accessToken, this.#key, { currentDate: new Date(this.#now()) });
      return true;
    } catch {
      return false;
    }
  }

  async #authorize(body: unknown): Promise<JsonReply> {
    const { client_id: clientId, client_secret: clientSecret } = (body ?? {}) as Record<string, unknown>;
    if (typeof clientId !== 'string' || typeof clientSecret !== 'string')
      return error(400, 'client_id and client_secret are required');
    if (!this.#limiter.allow(clientId, this.#now())) return error(429, 'too many requests');
    if (this.#applications.get(clientId) !== clientSecret) return error(401, 'invalid client credentials');
    return this.#issuePair(clientId);
  }

  async #refresh(path: PaypackRefreshPath, token: string): Promise<JsonReply> {
    if (!this.#options.refreshPaths.includes(path)) return missingRoute('GET', `/api/auth/${path}/…`);
    this.presentedRefreshTokens.push(token);
    const record = this.#refreshTokens.get(token);
    if (!record) return error(401, 'invalid refresh token');
    if (!this.#limiter.allow(record.clientId, this.#now())) return error(429, 'too many requests');
    if (record.usedAt !== undefined) {
      this.reusedRefreshTokens.push(token);
      return error(401, 'refresh token already used');
    }
    if (record.expiresAt <= this.#now()) return error(401, 'refresh token expired');
    record.usedAt = this.#now();
    this.onRefreshSpent?.(record.clientId);
    return this.#issuePair(record.clientId);
  }

  async #issuePair(clientId: string): Promise<JsonReply> {
    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + this.#options.accessTtlSeconds;
    const access = await new SignJWT({ typ: 'access', agent: clientId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.#key);
    const refreshExp = iat + this.#options.refreshTtlSeconds;
    const refresh = await new SignJWT({ typ: 'refresh', agent: clientId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(refreshExp)
      .setJti(randomUUID())
      .sign(this.#key);
    this.#refreshTokens.set(refresh, { clientId, expiresAt: refreshExp * 1000 });
    this.issued.push(access, refresh);
    return {
      status: 200,
      body: { access, refresh, expires: this.#options.expiresAsString ? String(exp) : exp },
    };
  }
}

function error(status: number, message: string): JsonReply {
  return { status, body: { status, message } };
}
