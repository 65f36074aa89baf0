import type { FaultCase } from './fault-cases.ts';

const now = () => Math.floor(Date.now() / 1000);
const fakeJwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const INJECTED = '\r\nX-Injected: yes';
/** The secret cut out where it stands as it is, or the whole echo withheld where it is encoded. */
const ECHO_HIDDEN = /\[REDACTED\]|withheld/;

/**
 * The second ring of trust: a provider that echoes the request, a token that
 * cannot go in a header, an application 404 on a refresh route, a lost lease and
 * a stalled lock table. Each keeps the last good token and leaks nothing.
 */
export function trustFaults(): FaultCase[] {
  return [
    {
      group: 'provider',
      name: 'paypack authorize: HTTP 500 echoing the request body URL-encoded',
      provider: 'paypack',
      setup: {
        target: 'provider',
        route: 'authorize',
        fault: {
          kind: 'echo',
          status: 500,
          reply: (request) => ({ message: `bad request ${encodeURIComponent(request.bodyText)}` }),
        },
      },
      expected: { behaviour: 'retried, then failed', code: 'PROVIDER_SERVER_ERROR', message: ECHO_HIDDEN },
    },
    {
      group: 'provider',
      name: 'papaya token: HTTP 400 echoing the request body as a JSON string',
      provider: 'papaya',
      setup: {
        target: 'provider',
        route: 'token',
        fault: {
          kind: 'echo',
          status: 400,
          reply: (request) => ({ message: JSON.stringify(request.bodyText) }),
        },
      },
      expected: { behaviour: 'failed fast', code: 'PROVIDER_CLIENT_ERROR', message: ECHO_HIDDEN },
    },
    {
      group: 'provider',
      name: 'oauth2 token: HTTP 500 echoing the Authorization header base64-encoded again',
      provider: 'oauth2',
      setup: {
        target: 'provider',
        route: 'token',
        fault: {
          kind: 'echo',
          status: 500,
          reply: (request) => ({
            message: Buffer.from(String(request.headers.authorization ?? request.bodyText)).toString(
              'base64',
            ),
          }),
        },
      },
      expected: { behaviour: 'retried, then failed', code: 'PROVIDER_SERVER_ERROR', message: /withheld/ },
    },
    {
      group: 'provider',
      name: 'paypack authorize: access token ending in CR/LF and a header',
      provider: 'paypack',
      setup: {
        target: 'provider',
        route: 'authorize',
        fault: {
          kind: 'body',
          body: {
            access: `${fakeJwt({ exp: now() + 900 })}${INJECTED}`,
            refresh: fakeJwt({ exp: now() + 86_400 }),
            expires: now() + 900,
          },
        },
      },
      expected: { behaviour: 'failed fast', code: 'PROVIDER_INVALID_TOKEN', message: /b64token/ },
    },
    {
      group: 'provider',
      name: 'oauth2 token: opaque access token ending in CR/LF and a header',
      provider: 'oauth2',
      setup: {
        target: 'provider',
        route: 'token',
        fault: {
          kind: 'body',
          body: { access_token: `opaque-token${INJECTED}`, token_type: 'Bearer', expires_in: 300 },
        },
      },
      expected: { behaviour: 'failed fast', code: 'PROVIDER_INVALID_TOKEN', message: /b64token/ },
    },
    {
      group: 'provider',
      name: 'paypack refresh: SDK path answers 404 with JSON ("token not found"): refused, not tried elsewhere',
      provider: 'paypack',
      setup: {
        target: 'provider',
        route: 'refresh-sdk',
        fault: { kind: 'status', status: 404, body: { status: 404, message: 'token not found' } },
      },
      expected: {
        behaviour: 'fell back to authorize',
        calls: { 'refresh-sdk': 1, 'refresh-docs': 0, authorize: 1 },
      },
    },
    {
      group: 'crash and time budget',
      name: 'lease taken over by another run right after the write-ahead marker',
      provider: 'paypack',
      setup: { target: 'lease taken over after the marker' },
      expected: {
        behaviour: 'stopped when the lease was lost',
        code: 'LOCK_LOST',
        message: /lease could not be renewed/,
        calls: { 'refresh-sdk': 0, 'refresh-docs': 0, authorize: 0 },
      },
    },
    {
      group: 'crash and time budget',
      name: 'lock table endpoint accepts and never answers (3 s left)',
      provider: 'paypack',
      setup: { target: 'stalled aws', service: 'dynamodb', budgetMs: 3_000 },
      expected: {
        behaviour: 'failed within the time budget',
        code: 'STORE_FAILED',
        message: /could not take the refresh lock/,
      },
    },
  ];
}
