import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

/**
 * docs/consumers.md's Python reader (packages/client/python/token_reader.py), run as a
 * Python Lambda would run it: boto3 against moto, reading a token the real
 * refresher published. A clock the driver controls shows the cache rule.
 */
const examples = fileURLToPath(new URL('../../packages/client/python/', import.meta.url));
const boto3 = spawnSync('python3', ['-c', 'import boto3'], { encoding: 'utf8' });
const skip =
  boto3.status === 0
    ? false
    : `python3 cannot import boto3 here (${(boto3.error?.message ?? boto3.stderr).trim().split('\n').at(-1)}); the Python reader is not run`;

const DRIVER = `
import hashlib, json, sys
import boto3
sys.path.insert(0, sys.argv[1])
from token_reader import TokenReader, TokenUnavailable, _instant

endpoint, name = sys.argv[2], sys.argv[3]
ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
reads = [0]
ssm.meta.events.register("before-call.ssm.GetParameter", lambda **_: reads.__setitem__(0, reads[0] + 1))
now = [0.0]
reader = TokenReader(ssm=ssm, clock=lambda: now[0])

def step(label):
    try:
        token = reader.get_token(name)
        result = {"sha256": hashlib.sha256(token["token"].encode()).hexdigest(), "expiresAt": token["expiresAt"]}
    except TokenUnavailable as error:
        result = {"error": str(error)}
    print(json.dumps({"step": label, "reads": reads[0], **result}))
    return result

expires = _instant(json.loads(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])["expiresAt"])
reads[0] = 0
now[0] = expires - 600
step("first")
now[0] = expires - 61
step("cached until 60 s before expiry")
now[0] = expires - 59
step("inside the margin: read again")
now[0] = expires - 57
step("and again only 5 s later")
now[0] = expires - 4
step("expires within seconds")
try:
    reader.get_token("/token-refresher/tokens/missing")
except TokenUnavailable as error:
    print(json.dumps({"step": "missing", "error": str(error)}))
`;

describe('the Python (boto3) reader from docs/consumers.md', { skip }, () => {
  it('reads the published token, caches it until expiresAt - 60 s, then re-reads at most every 5 s, and refuses one about to expire', async () => {
    const world = await World.start();
    try {
      const source = await world.paypackSource();
      const result = await world.handler()({ sources: [source] });
      world.capture.record(result);
      const published = parsePublishedToken(
        (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
      );
      assert.ok(published);
      const { stdout } = await promisify(execFile)('python3', [
        '-c',
        DRIVER,
        examples,
        world.moto.endpoint,
        source.parameterName,
      ]);
      const steps = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const sha256 = createHash('sha256').update(published.token).digest('hex');
      assert.deepEqual(steps, [
        { step: 'first', reads: 1, sha256, expiresAt: published.expiresAt },
        { step: 'cached until 60 s before expiry', reads: 1, sha256, expiresAt: published.expiresAt },
        { step: 'inside the margin: read again', reads: 2, sha256, expiresAt: published.expiresAt },
        { step: 'and again only 5 s later', reads: 2, sha256, expiresAt: published.expiresAt },
        {
          step: 'expires within seconds',
          reads: 3,
          error: `no usable token in ${source.parameterName}: the token expired or expires within seconds (${published.expiresAt})`,
        },
        {
          step: 'missing',
          error: 'no usable token in /token-refresher/tokens/missing: the parameter does not exist yet',
        },
      ]);
    } finally {
      await world.stop();
    }
  });
});

/** The same edge cases as test/unit/get-token.test.ts, against a stand-in SSM that throttles on cue. */
const EDGE_DRIVER = `
import json, sys
from datetime import datetime, timezone
from botocore.exceptions import ClientError
sys.path.insert(0, sys.argv[1])
from token_reader import TokenReader, TokenUnavailable

T0 = 1_800_000_000.0
def value(token, seconds_left):
    iso = lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")
    return json.dumps({"token": token, "tokenType": "Bearer", "expiresAt": iso(T0 + seconds_left),
                       "issuedAt": iso(T0), "provider": "paypack", "source": "cash-in"})

class FakeSsm:
    def __init__(self, answers):
        self.answers, self.reads = list(answers), 0
    def get_parameter(self, Name, WithDecryption):
        self.reads += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer == "throttle":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetParameter")
        return {"Parameter": {"Value": answer}}

out = {}
for label, options in (("margin -30", {"margin_seconds": -30}), ("margin nan", {"margin_seconds": float("nan")}),
                       ("margin below minimum", {"margin_seconds": 3, "minimum_lifetime_seconds": 5})):
    try:
        TokenReader(ssm=FakeSsm(["x"]), **options)
        out[label] = "accepted"
    except ValueError as error:
        out[label] = str(error)

now = [T0]
ssm = FakeSsm([value("cached", 110), "throttle"])
reader = TokenReader(ssm=ssm, clock=lambda: now[0])
reader.get_token("p")
now[0] += 60
served = [reader.get_token("p")["token"] for _ in range(5)]
out["through errors"] = {"served": served, "reads": ssm.reads}
now[0] += 5
reader.get_token("p")
out["after recheck"] = ssm.reads
now[0] += 42
try:
    reader.get_token("p")
except TokenUnavailable as error:
    out["too short-lived"] = str(error)

forced = TokenReader(ssm=FakeSsm([value("refused", 600), "throttle"]), clock=lambda: T0)
forced.get_token("p")
try:
    forced.get_token("p", force_refresh=True)
    out["forced"] = "returned the refused token"
except TokenUnavailable as error:
    out["forced"] = str(error)
print(json.dumps(out))
`;

describe('the Python reader behaves as the TypeScript one at the edges', { skip }, () => {
  it('checks its options, serves a live token through SSM errors, waits recheck_seconds, names the SSM error', async () => {
    const { stdout } = await promisify(execFile)('python3', ['-c', EDGE_DRIVER, examples]);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.match(String(out['margin -30']), /option "margin_seconds" must be a finite number/);
    assert.match(String(out['margin nan']), /option "margin_seconds" must be a finite number/);
    assert.match(
      String(out['margin below minimum']),
      /"margin_seconds" \(3\) must be at least "minimum_lifetime_seconds"/,
    );
    assert.deepEqual(out['through errors'], {
      served: ['cached', 'cached', 'cached', 'cached', 'cached'],
      reads: 2,
    });
    assert.equal(out['after recheck'], 3);
    assert.match(
      String(out['too short-lived']),
      /expires within seconds.*SSM GetParameter failed \(ThrottlingException\)/,
    );
    assert.match(String(out.forced), /no usable token in p: SSM GetParameter failed \(ThrottlingException\)/);
  });
});
