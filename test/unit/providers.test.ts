import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProviderHttpClient } from '../../lambda/http/provider-http-client.ts';
import { defaultTokenName, PapayaProvider } from '../../lambda/providers/papaya.ts';
import { PaypackProvider } from '../../lambda/providers/paypack.ts';
import { singleAttemptHttp } from '../support/single-attempt-http.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

function recordingHttp(replies: Record<string, unknown>) {
  const sent: { route: string; url: string; body: unknown }[] = [];
  const http = singleAttemptHttp('p', NOW, async (input, init) => {
    const url = String(input);
    sent.push({ route: url, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const match = Object.entries(replies).find(([suffix]) => url.endsWith(suffix));
    return new Response(JSON.stringify(match?.[1] ?? { status: 404, message: 'nope' }), {
      status: match ? 200 : 404,
    });
  });
  return { http, sent };
}

function context<C, O>(http: ProviderHttpClient, credentials: C, options: O, privateState?: string) {
  return {
    sourceId: 'src-1',
    baseUrl: 'https://pay.example/api',
    credentials,
    options,
    privateState,
    http,
    now: NOW,
    deploymentName: 'acme-prod',
    note: () => {},
    warn: () => {},
    markSensitive: () => {},
    savePrivateState: async () => {},
  };
}

describe('PaypackProvider', () => {
  it('accepts `expires` as a quoted number, as the docs sample shows', async () => {
    const exp = NOW / 1000 + 900;
    const { http } = recordingHttp({
      '/auth/agents/authorize': { access: jwt({ exp }), refresh: 'r-1', expires: String(exp) },
    });
    const issued = await new PaypackProvider().issueToken(
      context(http, { client_id: 'a', client_secret: 'b' }, {}),
    );
    assert.equal(issued.expiresAt.getTime(), exp * 1000);
    assert.equal(issued.privateState, JSON.stringify({ refresh: 'r-1' }));
  });

  it('sends client_id and client_secret as the JSON body of authorize', async () => {
    const exp = NOW / 1000 + 900;
    const { http, sent } = recordingHttp({
      '/auth/agents/authorize': { access: jwt({ exp }), refresh: 'r-1', expires: exp },
    });
    await new PaypackProvider().issueToken(context(http, { client_id: 'id-1', client_secret: 'sec-1' }, {}));
    assert.deepEqual(sent, [
      {
        route: 'https://pay.example/api/auth/agents/authorize',
        url: 'https://pay.example/api/auth/agents/authorize',
        body: { client_id: 'id-1', client_secret: 'sec-1' },
      },
    ]);
  });

  it('authorizes when the stored state is unreadable, without any refresh call', async () => {
    const exp = NOW / 1000 + 900;
    const { http, sent } = recordingHttp({
      '/auth/agents/authorize': { access: jwt({ exp }), refresh: 'r-1', expires: exp },
    });
    await new PaypackProvider().issueToken(
      context(http, { client_id: 'a', client_secret: 'b' }, {}, '{not json'),
    );
    assert.deepEqual(
      sent.map((call) => call.url),
      ['https://pay.example/api/auth/agents/authorize'],
    );
  });
});

describe('PapayaProvider', () => {
  it('posts api_key, client_secret, expiration and a token_name naming deployment and source', async () => {
    const exp = NOW / 1000 + 3600;
    const { http, sent } = recordingHttp({
      '/token': { token: jwt({ exp }), valid_until: '2026-11-21T13:00Z' },
    });
    const issued = await new PapayaProvider().issueToken(
      context(http, { api_key: 'k', client_secret: 's' }, { expirationSeconds: 3600 }),
    );
    assert.deepEqual(sent[0]?.body, {
      api_key: 'k',
      client_secret: 's',
      expiration: 3600,
      token_name: 'acme-prod-src-1',
    });
    assert.equal(issued.expiresAt.toISOString(), '2026-11-21T13:00:00.000Z');
    assert.equal(issued.privateState, undefined);
  });

  it('uses a configured token name verbatim, and sanitises the default', async () => {
    const exp = NOW / 1000 + 3600;
    const { http, sent } = recordingHttp({
      '/token': { token: jwt({ exp }), valid_until: '2026-11-21T12:59:30Z' },
    });
    await new PapayaProvider().issueToken(
      context(
        http,
        { api_key: 'k', client_secret: 's' },
        { expirationSeconds: 3600, tokenName: 'payroll-eu' },
      ),
    );
    assert.deepEqual(sent[0]?.body, {
      api_key: 'k',
      client_secret: 's',
      expiration: 3600,
      token_name: 'payroll-eu',
    });
    assert.equal(defaultTokenName('team a/b', 'src'), 'team-a-b-src');
  });
});
