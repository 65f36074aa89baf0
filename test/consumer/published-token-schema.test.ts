import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

/**
 * The JSON Schema shipped in the package is the contract for readers in other
 * languages. It must accept what the refresher really publishes and agree with
 * the TypeScript client's own check on what it rejects.
 */
const schema = JSON.parse(
  readFileSync(new URL('../../packages/client/schema/published-token.schema.json', import.meta.url), 'utf8'),
) as object;
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

describe('packages/client/schema/published-token.schema.json', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  it('accepts the values the real handler publishes for both providers', async () => {
    const sources = [await world.paypackSource(), await world.papayaSource()];
    const result = await world.handler()({ sources });
    world.capture.record(result);
    assert.deepEqual(
      result.outcomes.map((outcome) => outcome.status),
      ['refreshed', 'refreshed'],
    );
    for (const source of sources) {
      const stored = await readParameter(world.aws.ssm, source.parameterName);
      const value = JSON.parse(stored?.value ?? 'null') as unknown;
      // Only paths and keywords: ajv's messages never quote the data, so no token reaches the output.
      const problems = validate(value)
        ? []
        : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
      assert.deepEqual(problems, [], `${source.provider} value follows the schema`);
      assert.ok(parsePublishedToken(stored?.value ?? ''), 'and the client accepts it');
    }
  });

  it('rejects what the client rejects, and tolerates fields added later', () => {
    const good = {
      token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln',
      tokenType: 'Bearer',
      expiresAt: '2026-11-21T12:15:00.000Z',
      issuedAt: '2026-11-21T12:00:00.000Z',
      provider: 'paypack',
      source: 'cash-in',
    };
    const { expiresAt: _dropped, ...withoutExpiry } = good;
    const cases: [string, unknown, boolean][] = [
      ['a published value', good, true],
      ['a value with a field added later', { ...good, audience: 'payments' }, true],
      ['another token type', { ...good, tokenType: 'MAC' }, false],
      ['an empty token', { ...good, token: '' }, false],
      ['no expiry', withoutExpiry, false],
      ['an expiry that is not an instant', { ...good, expiresAt: 'tomorrow' }, false],
      ['an expiry without a time', { ...good, expiresAt: '2026-11-21' }, false],
      ['an expiry without a zone', { ...good, expiresAt: '2026-11-21T12:15:00' }, false],
      ['a numeric expiry', { ...good, expiresAt: 1_795_000_000 }, false],
      ['a provider that is not a string', { ...good, provider: 7 }, false],
      ['not an object', [good], false],
    ];
    for (const [what, value, expected] of cases) {
      assert.equal(validate(value), expected, `schema on ${what}`);
      assert.equal(parsePublishedToken(JSON.stringify(value)) !== undefined, expected, `client on ${what}`);
    }
  });
});
