import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { ReceivedRequest } from '../sandboxes/sandbox-server.ts';
import { putSecret } from '../support/aws.ts';
import { findLeaks } from '../support/capture.ts';
import { registerSensitive } from '../support/sensitive-values.ts';
import { World } from '../support/world.ts';

/**
 * The held-out group: each provider echoes the request it received back in an
 * error body, in many encodings the redactor was never told about, and with
 * secrets chosen to need escaping in every one of them. Nothing the secret
 * becomes may reach the outcome, an error or a log line.
 */
const HOSTILE_SECRETS = [
  "S3cr3t!Pa(ss)~word'*",
  'pa"pa\\ya-secret',
  'trailing-newline-secret\n',
  '<b>&amp;"sécret" ünïcødé</b>',
  'space secret %25 +plus/slash=',
];

const base64 = (text: string) => Buffer.from(text).toString('base64');
const html = (text: string) => text.replace(/[&<>"'!()~*]/g, (char) => `&#${char.charCodeAt(0)};`);
const unicodeEscaped = (text: string) =>
  [...text].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

/** What a careless provider may do with the request before putting it in its error message. */
const ECHO_FORMS: Record<string, (request: ReceivedRequest) => string> = {
  'raw body': (request) => request.bodyText,
  'URL-encoded body': (request) => encodeURIComponent(request.bodyText),
  'twice URL-encoded body': (request) => encodeURIComponent(encodeURIComponent(request.bodyText)),
  'form-encoded body': (request) => new URLSearchParams({ echoed: request.bodyText }).toString(),
  'JSON string of the body': (request) => JSON.stringify(request.bodyText),
  'JSON string of that JSON string': (request) => JSON.stringify(JSON.stringify(request.bodyText)),
  'every character \\u-escaped': (request) => unicodeEscaped(request.bodyText),
  'HTML entities': (request) => html(request.bodyText),
  'base64 body': (request) => base64(request.bodyText),
  'base64url body': (request) => Buffer.from(request.bodyText).toString('base64url'),
  'base64 behind a prefix': (request) => `req=${base64(`x${request.bodyText}`)}`,
  'hex body': (request) => Buffer.from(request.bodyText).toString('hex'),
  'upper-cased body': (request) => request.bodyText.toUpperCase(),
  'base64 of the URL-encoded body': (request) => base64(encodeURIComponent(request.bodyText)),
  'the Authorization header': (request) => String(request.headers.authorization ?? request.bodyText),
};

type Flavour = 'paypack' | 'papaya' | 'oauth2 client_secret_post' | 'oauth2 client_secret_basic';
const FLAVOURS: Flavour[] = ['paypack', 'papaya', 'oauth2 client_secret_post', 'oauth2 client_secret_basic'];
const ONE_ATTEMPT = { timeoutMs: 1_000, maxAttempts: 1 };

describe('a provider that echoes the request never leaks the secret, in any encoding', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  async function hostileSource(flavour: Flavour, secret: string): Promise<SourceDefinition & { id: string }> {
    let source: SourceDefinition & { id: string };
    if (flavour === 'paypack') source = await world.paypackSource({ http: ONE_ATTEMPT });
    else if (flavour === 'papaya') source = await world.papayaSource({ http: ONE_ATTEMPT });
    else {
      const clientAuthentication = flavour.split(' ')[1];
      source = await world.oauth2Source({
        http: ONE_ATTEMPT,
        options: { tokenUrl: '/oauth/token', expectedLifetimeSeconds: 300, clientAuthentication },
      });
    }
    const idField = flavour === 'papaya' ? 'api_key' : 'client_id';
    registerSensitive(secret, secret.trim());
    await putSecret(
      world.aws.secretsManager,
      source.secretId,
      JSON.stringify({ [idField]: `id-${source.id}`, client_secret: secret }),
    );
    return source;
  }

  for (const flavour of FLAVOURS) {
    it(`${flavour}: ${HOSTILE_SECRETS.length} secrets × ${Object.keys(ECHO_FORMS).length} echo forms`, async () => {
      const sandbox =
        flavour === 'paypack' ? world.paypack : flavour === 'papaya' ? world.papaya : world.oauth2;
      const route = flavour === 'paypack' ? 'authorize' : 'token';
      for (const secret of HOSTILE_SECRETS) {
        const source = await hostileSource(flavour, secret);
        for (const [form, encode] of Object.entries(ECHO_FORMS)) {
          const sent: string[] = [];
          sandbox.server.inject(
            route,
            {
              kind: 'echo',
              status: flavour === 'papaya' ? 400 : 500,
              reply: (request) => {
                const echoed = encode(request);
                sent.push(echoed);
                return { message: `could not process ${echoed}` };
              },
            },
            1,
          );
          const linesBefore = world.capture.lines.length;
          const outcome = await world.forcedOutcome(source);
          const what = `${flavour}, secret ${JSON.stringify(secret.slice(0, 4))}…, ${form}`;
          assert.equal(sent.length, 1, `${what}: the provider echoed the request`);
          assert.equal(outcome?.status, 'failed', what);
          const message = outcome?.status === 'failed' ? outcome.error.message : '';
          assert.match(
            message,
            new RegExp(`^source "${source.id}": `),
            `${what}: the error names the source`,
          );
          const shown = [message, ...world.capture.lines.slice(linesBefore)].join('\n');
          // Two independent checks: the exact bytes the provider sent, and every decoded reading.
          // With HTTP Basic the secret travels in the header only: a body echo carries nothing to hide.
          const carriesSecret =
            flavour !== 'oauth2 client_secret_basic' || form === 'the Authorization header';
          if (carriesSecret)
            assert.ok(!shown.includes(sent[0] ?? ''), `${what}: the echo itself is not shown`);
          assert.ok(!shown.includes(secret.trim()), `${what}: the secret is not shown as it is`);
          assert.deepEqual(findLeaks(shown, [secret.trim()]), [], `${what}: no reading shows the secret`);
        }
      }
    });
  }

  it("passes a provider's harmless message through, bounded and printable", async () => {
    const source = await world.papayaSource({ http: ONE_ATTEMPT });
    const harmless = `quota exceeded for this account\u0007\u001b[31m ${'x'.repeat(400)}`;
    world.papaya.server.inject(
      'token',
      { kind: 'echo', status: 400, reply: () => ({ message: harmless }) },
      1,
    );
    const outcome = await world.forcedOutcome(source);
    const message = outcome?.status === 'failed' ? outcome.error.message : '';
    assert.match(message, /quota exceeded for this account/);
    assert.ok(
      ![...message].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f),
      'no control characters',
    );
    const quoted = message.slice(message.indexOf('"quota'));
    assert.ok(quoted.length <= 205, `the quote is bounded (${quoted.length} chars)`);
  });
});
