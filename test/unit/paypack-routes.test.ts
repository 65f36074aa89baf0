import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProviderError, StoreError } from '../../lambda/errors.ts';
import { PaypackProvider } from '../../lambda/providers/paypack.ts';
import { LockLostError } from '../../lambda/refresh/source-lock.ts';
import { registerSensitive } from '../support/sensitive-values.ts';
import { singleAttemptHttp } from '../support/single-attempt-http.ts';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const jwt = (claims: Record<string, unknown>) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;
const ACCESS = jwt({ exp: NOW / 1000 + 900, n: 'routes' });
const STORED = jwt({ exp: NOW / 1000 + 86_400, typ: 'refresh', n: 'stored' });
const NEW_REFRESH = jwt({ exp: NOW / 1000 + 86_400, typ: 'refresh', n: 'new' });
registerSensitive(ACCESS, STORED, NEW_REFRESH);

type Answer = 'token' | 'same token' | 'json 404' | 'html 404' | 'empty 404';
const reply = (answer: Answer, refresh = NEW_REFRESH): Response => {
  if (answer === 'json 404')
    return Response.json({ status: 404, message: 'token not found' }, { status: 404 });
  if (answer === 'html 404')
    return new Response('<html><pre>Cannot GET /api/auth/refresh/…</pre></html>', {
      status: 404,
      headers: { 'content-type': 'text/html' },
    });
  if (answer === 'empty 404') return new Response('', { status: 404 });
  return Response.json({
    access: ACCESS,
    refresh: answer === 'same token' ? STORED : refresh,
    expires: NOW / 1000 + 900,
  });
};

/** One Paypack issue with the given stored state and answers per path; every presentation is counted. */
async function issue(
  privateState: unknown,
  answers: { sdk?: Answer; docs?: Answer },
  save: (state: string) => Promise<void> = async () => {},
) {
  const presented: string[] = [];
  const journal: string[] = [];
  const http = singleAttemptHttp('paypack', NOW, async (input) => {
    const path = new URL(String(input)).pathname;
    if (path.endsWith('/authorize')) {
      journal.push('authorize');
      return reply('token');
    }
    const which = path.startsWith('/api/auth/agents/refresh/') ? 'docs' : 'sdk';
    journal.push(which);
    presented.push(decodeURIComponent(path.split('/').at(-1) ?? ''));
    return reply(answers[which] ?? 'html 404');
  });
  const issued = await new PaypackProvider().issueToken({
    sourceId: 's',
    baseUrl: 'https://pay.example/api',
    credentials: { client_id: 'a', client_secret: 'b' },
    options: {},
    privateState: JSON.stringify(privateState),
    http,
    now: NOW,
    deploymentName: 'unit',
    note: () => {},
    warn: () => {},
    markSensitive: () => {},
    savePrivateState: async (state) => {
      journal.push(`save ${state}`);
      await save(state);
    },
  });
  return { issued, presented, journal, state: JSON.parse(issued.privateState ?? '{}') };
}

describe('Paypack refresh routes: remembered in the private state, a token presented once', () => {
  it('state from before routes were remembered reads as "no route yet" (no migration step)', async () => {
    const { state, presented } = await issue({ refresh: STORED }, { sdk: 'token' });
    assert.deepEqual(presented, [STORED]);
    assert.deepEqual(state, { refresh: NEW_REFRESH, route: 'sdk' });
  });

  it('a source no path has served may try the docs path after a 404 without JSON, and remembers it', async () => {
    for (const missing of ['html 404', 'empty 404'] as const) {
      const { state, journal } = await issue({ refresh: STORED }, { sdk: missing, docs: 'token' });
      assert.deepEqual(journal.slice(1), ['sdk', 'docs'], missing);
      assert.deepEqual(state, { refresh: NEW_REFRESH, route: 'docs' }, missing);
    }
  });

  it('a JSON 404 is the application refusing the token: never presented to a second path', async () => {
    for (const route of [undefined, 'sdk', 'docs'] as const) {
      const { presented, journal, state } = await issue(
        { refresh: STORED, ...(route ? { route } : {}) },
        { sdk: 'json 404', docs: 'json 404' },
      );
      assert.equal(presented.length, 1, `route ${route}: presented once`);
      assert.equal(journal.at(-1), 'authorize', `route ${route}: authorized instead`);
      assert.equal(state.route, route, `route ${route}: the known route is kept`);
    }
  });

  it('once a route is known, any 404 from it means "authorize": the other path is never tried', async () => {
    for (const [route, other] of [
      ['sdk', 'docs'],
      ['docs', 'sdk'],
    ] as const) {
      for (const answer of ['html 404', 'json 404', 'empty 404'] as const) {
        const { journal } = await issue({ refresh: STORED, route }, { [route]: answer, [other]: 'token' });
        assert.deepEqual(journal.slice(1), [route, 'authorize'], `${route} known, ${answer}`);
      }
    }
  });

  it('a known route is used directly', async () => {
    const { journal, state } = await issue({ refresh: STORED, route: 'docs' }, { docs: 'token' });
    assert.deepEqual(journal.slice(1), ['docs']);
    assert.equal(state.route, 'docs');
  });

  it('a refresh that returns the token it was given stores it as spent', async () => {
    const { state } = await issue({ refresh: STORED, route: 'sdk' }, { sdk: 'same token' });
    assert.deepEqual(state, { refresh: null, route: 'sdk' });
  });

  it('the write-ahead marker keeps the known route, so a failed run does not forget it', async () => {
    const { journal } = await issue({ refresh: STORED, route: 'docs' }, { docs: 'token' });
    assert.equal(journal[0], 'save {"refresh":null,"route":"docs"}');
  });
});

describe('Paypack: a lost lease or too little time at the marker ends the run', () => {
  const refusals = [
    new LockLostError('s', 'the refresh lease could not be renewed (ConditionalCheckFailedException)'),
    new ProviderError('s', 'DEADLINE_EXCEEDED', 'too little time left to present the stored refresh token'),
  ];
  for (const refusal of refusals) {
    it(`${refusal.code}: no presentation and no authorize`, async () => {
      let journal: string[] = [];
      await assert.rejects(
        issue({ refresh: STORED, route: 'sdk' }, { sdk: 'token' }, async () => {
          throw refusal;
        }).then((result) => {
          journal = result.journal;
        }),
        (error) => error === refusal,
      );
      assert.deepEqual(journal, []);
    });
  }

  it('a failed marker write (not a lost lease) still means "authorize instead"', async () => {
    const { journal, presented } = await issue(
      { refresh: STORED, route: 'sdk' },
      { sdk: 'token' },
      async () => {
        throw new StoreError('s', 'could not write SSM parameter "p"', 'ThrottlingException');
      },
    );
    assert.deepEqual(presented, []);
    assert.equal(journal.at(-1), 'authorize');
  });
});
