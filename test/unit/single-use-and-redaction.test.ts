import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError } from '../../lambda/errors.ts';
import { PaypackProvider } from '../../lambda/providers/paypack.ts';
import { MAX_PROVIDER_TEXT, Redactor, WITHHELD } from '../../lambda/redact.ts';
import { registerSensitive } from '../support/sensitive-values.ts';
import { singleAttemptHttp } from '../support/single-attempt-http.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const ACCESS = jwt({ exp: NOW / 1000 + 900, n: 1 });
const STORED_REFRESH = jwt({ exp: NOW / 1000 + 86_400, typ: 'refresh', n: 2 });
registerSensitive(ACCESS, STORED_REFRESH);

/** A Paypack provider run whose every step (state writes, HTTP calls) lands in one ordered journal. */
function journaledRun(privateState: string, saveFails = false) {
  const journal: string[] = [];
  const http = singleAttemptHttp('paypack', NOW, async (input) => {
    const path = new URL(String(input)).pathname;
    journal.push(`GET/POST ${path.startsWith('/api/auth/refresh/') ? '/api/auth/refresh/…' : path}`);
    return new Response(JSON.stringify({ access: ACCESS, refresh: 'r-new', expires: NOW / 1000 + 900 }));
  });
  const run = new PaypackProvider().issueToken({
    sourceId: 's',
    baseUrl: 'https://pay.example/api',
    credentials: { client_id: 'a', client_secret: 'b' },
    options: {},
    privateState,
    http,
    now: NOW,
    deploymentName: 'unit',
    note: (message) => journal.push(`note: ${message}`),
    warn: (code) => journal.push(`warn: ${code}`),
    markSensitive: () => {},
    savePrivateState: async (state) => {
      journal.push(`save ${state}`);
      if (saveFails) throw new StoreError('s', 'could not write SSM parameter "p"', 'ThrottlingException');
    },
  });
  return { run, journal };
}

describe('Paypack refresh token: presented at most once, ever', () => {
  it('records the token as spent before presenting it (write-ahead)', async () => {
    const { run, journal } = journaledRun(JSON.stringify({ refresh: STORED_REFRESH }));
    const issued = await run;
    assert.deepEqual(journal, ['save {"refresh":null}', 'GET/POST /api/auth/refresh/…']);
    assert.equal(issued.privateState, JSON.stringify({ refresh: 'r-new', route: 'sdk' }));
  });

  it('does not present the token when the spent marker cannot be written; authorizes instead', async () => {
    const { run, journal } = journaledRun(JSON.stringify({ refresh: STORED_REFRESH }), true);
    await run;
    assert.deepEqual(journal, [
      'save {"refresh":null}',
      'note: could not record the refresh token as spent before presenting it; authorizing instead',
      'GET/POST /api/auth/agents/authorize',
    ]);
  });

  it('treats a stored token that cannot be put in a URL (a lone surrogate) as "authorize", not as a stuck source', async () => {
    const { run, journal } = journaledRun(JSON.stringify({ refresh: 'abc\ud800def' }));
    const issued = await run;
    assert.deepEqual(journal, [
      'note: stored refresh token cannot be put in a URL; authorizing instead',
      'GET/POST /api/auth/agents/authorize',
    ]);
    assert.equal(issued.token, ACCESS);
  });
});

describe('Redactor', () => {
  it('cuts a registered value out where it appears as it is, keeping the rest of the text', () => {
    const redactor = new Redactor();
    redactor.add('p@ss w/rd+=&?');
    assert.equal(redactor.scrub('source "s": raw p@ss w/rd+=&? here'), 'source "s": raw [REDACTED] here');
  });

  it('withholds a text that echoes a registered value in an encoding (the three reported leaks among them)', () => {
    const cases: [string, string][] = [
      [
        'S3cr3t!Pa(ss)~word',
        `client_secret=${new URLSearchParams({ s: 'S3cr3t!Pa(ss)~word' }).toString().slice(2)}`,
      ],
      ['pa"pa\\ya-secret', JSON.stringify({ client_secret: 'pa"pa\\ya-secret' })],
      ['p@ss w/rd+=&?', `path /x/${encodeURIComponent('p@ss w/rd+=&?')}`],
      ['base64-me-please', `Basic ${Buffer.from('id:base64-me-please').toString('base64')}`],
      ['CaseSecret', 'echo: casesecret'],
    ];
    for (const [secret, echo] of cases) {
      const redactor = new Redactor();
      redactor.add(secret);
      assert.equal(redactor.scrub(`provider said ${echo}`), WITHHELD, echo);
    }
  });

  it('registers what is sent: a secret stored with a trailing newline is matched trimmed', () => {
    const redactor = new Redactor();
    redactor.add('trailing/secret\n');
    assert.equal(redactor.scrub('{"client_secret":"trailing/secret"}'), '{"client_secret":"[REDACTED]"}');
    assert.equal(redactor.scrub(encodeURIComponent('client_secret=trailing/secret')), WITHHELD);
  });

  it("checks a provider's text whole before bounding it, so a secret is never half-quoted", () => {
    const redactor = new Redactor();
    const secret = 'a-long/secret-value';
    redactor.add(secret);
    const padded = `${'x'.repeat(190)}${encodeURIComponent(`${secret}!`)}`;
    assert.equal(redactor.quoteProviderText(padded), WITHHELD);
    const harmless = redactor.quoteProviderText(`bad\u0000request ${'y'.repeat(300)}`);
    assert.ok(harmless.startsWith('bad request yyy'));
    assert.ok(harmless.length <= MAX_PROVIDER_TEXT + 1);
  });

  it('quotes a long, harmless provider message rather than withholding it as unreadable', () => {
    const redactor = new Redactor();
    redactor.add('a-client-secret-of-24-chars');
    // Forty distinct long words: each reads as base64 too, and their decodings are noise.
    const message = Array.from(
      { length: 40 },
      (_, index) => `maintenance${String.fromCharCode(97 + (index % 26))}${index}`,
    ).join(' ');
    assert.equal(redactor.quoteProviderText(message), `${message.slice(0, MAX_PROVIDER_TEXT)}…`);
  });

  it('accepts a value with a lone surrogate without throwing', () => {
    const redactor = new Redactor();
    redactor.add('abc\ud800def');
    assert.equal(redactor.scrub('x abc\ud800def y'), 'x [REDACTED] y');
  });
});
