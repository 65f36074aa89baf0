import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Resource indicators (RFC 8707) the server knows: one yields JWT access tokens, one opaque ones. */
export const JWT_RESOURCE = 'https://jwt-api.example/';
export const OPAQUE_RESOURCE = 'https://opaque-api.example/';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/**
 * panva's oidc-provider (a certified OAuth 2.0 / OpenID Connect server),
 * in-process on loopback, serving the client credentials grant. Clients live in
 * this object's store, which the server reads on every request, so a test can
 * rotate a client's secret or delete the client and the server acts on it at once.
 */
export class OidcAuthorizationServer {
  readonly #clients = new Map<string, Record<string, unknown>>();
  /** Every client secret and access token this server knew, for the leak scan. */
  readonly issued: string[] = [];
  /** Successful token responses sent. */
  tokenResponses = 0;
  #server: Server | undefined;
  #url = '';
  readonly #accessTokenTtlSeconds: number;

  constructor(options: { accessTokenTtlSeconds?: number } = {}) {
    this.#accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 300;
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<string> {
    const { default: Provider, errors } = await import('oidc-provider');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ttl = this.#accessTokenTtlSeconds;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const provider = new Provider(this.#url, {
      adapter: storeAdapter(this.#clients),
      jwks: {
        keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' }],
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined,
          useGrantedResource: () => false,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource === JWT_RESOURCE)
              return {
                scope: 'payments:read',
                audience: resource,
                accessTokenTTL: ttl,
                accessTokenFormat: 'jwt',
              };
            if (resource === OPAQUE_RESOURCE)
              return {
                scope: 'payments:read',
                audience: resource,
                accessTokenTTL: ttl,
                accessTokenFormat: 'opaque',
              };
            throw new errors.InvalidTarget();
          },
        },
      },
      scopes: ['payments:read'],
      ttl: { ClientCredentials: ttl },
    });
    // Tokens are recorded as the server sends them, so the leak scan knows every one.
    provider.on('client_credentials.saved', (token: { jti?: string }) => {
      if (token.jti) this.issued.push(token.jti);
    });
    provider.on('client_credentials.issued', (token: { jti?: string }) => {
      if (token.jti) this.issued.push(token.jti);
    });
    const callback = provider.callback();
    server.on('request', (request, response) => {
      const body: Buffer[] = [];
      const write = response.write.bind(response);
      const end = response.end.bind(response);
      response.write = ((chunk: unknown, ...rest: never[]) => {
        if (chunk) body.push(Buffer.from(chunk as Buffer));
        return write(chunk as Buffer, ...rest);
      }) as typeof response.write;
      response.end = ((chunk?: unknown, ...rest: never[]) => {
        if (chunk && typeof chunk !== 'function') body.push(Buffer.from(chunk as Buffer));
        this.#recordTokens(Buffer.concat(body).toString('utf8'));
        return end(chunk as Buffer, ...rest);
      }) as typeof response.end;
      callback(request, response);
    });
    return this.#url;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Registers a client credentials client; returns its credentials. */
  addClient(authMethod: ClientAuthMethod): { client_id: string; client_secret: string } {
    const credentials = { client_id: `client-${randomUUID()}`, client_secret: `oidc-secret-${randomUUID()}` };
    this.#clients.set(credentials.client_id, {
      ...credentials,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: authMethod,
      scope: 'payments:read',
    });
    this.issued.push(credentials.client_secret);
    return credentials;
  }

  /** The server accepts only `secret` from now on. */
  setClientSecret(clientId: string, secret: string): void {
    const client = this.#clients.get(clientId);
    if (!client) throw new Error(`no client ${clientId}`);
    this.#clients.set(clientId, { ...client, client_secret: secret });
    this.issued.push(secret);
  }

  removeClient(clientId: string): void {
    this.#clients.delete(clientId);
  }

  #recordTokens(text: string): void {
    try {
      const body = JSON.parse(text) as { access_token?: unknown };
      if (typeof body.access_token !== 'string') return;
      this.issued.push(body.access_token);
      this.tokenResponses += 1;
    } catch {
      // Not JSON: nothing issued.
    }
  }
}

/** oidc-provider's storage interface over plain maps; `Client` reads the sandbox's client store. */
function storeAdapter(clients: Map<string, Record<string, unknown>>) {
  const stores = new Map<string, Map<string, Record<string, unknown>>>();
  return class StoreAdapter {
    readonly #store: Map<string, Record<string, unknown>>;
    constructor(name: string) {
      if (name === 'Client') this.#store = clients;
      else {
        const store = stores.get(name) ?? new Map();
        stores.set(name, store);
        this.#store = store;
      }
    }
    async upsert(id: string, payload: Record<string, unknown>) {
      this.#store.set(id, payload);
    }
    async find(id: string) {
      return this.#store.get(id);
    }
    async findByUid(uid: string) {
      return [...this.#store.values()].find((payload) => payload.uid === uid);
    }
    async findByUserCode(code: string) {
      return [...this.#store.values()].find((payload) => payload.userCode === code);
    }
    async consume(id: string) {
      const payload = this.#store.get(id);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      this.#store.delete(id);
    }
    async revokeByGrantId(grantId: string) {
      for (const [id, payload] of this.#store) if (payload.grantId === grantId) this.#store.delete(id);
    }
  };
}
