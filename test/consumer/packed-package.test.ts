import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

/**
 * What a consumer team in another repository does: pack the two packages
 * (`npm test` builds them first), install the tarballs into a fresh project with
 * its own NodeNext tsconfig, compile against the installed `.d.ts` with the
 * consumer's own tsc, and run the output with plain node. Tools a consumer
 * project would have anyway (TypeScript, @types/node, aws-cdk-lib, constructs)
 * are linked from this repository's node_modules rather than installed again;
 * esbuild is not: the construct needs none. (test/release/ installs by name
 * from a real registry.)
 */

const repo = resolve(import.meta.dirname, '../..');
const exec = promisify(execFile);

async function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  try {
    return await exec(command, args, { cwd, env, maxBuffer: 20 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stderr ?? ''}\n${stdout ?? ''}`);
  }
}

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    types: ['node'],
    rootDir: 'src',
    outDir: 'out',
  },
  files: ['src/read-token.ts'],
};

/** The CDK apps: aws-cdk-lib's own declarations are not re-checked (seconds of tsc on two shared cores). */
const CDK_TSCONFIG = {
  extends: './tsconfig.json',
  compilerOptions: { skipLibCheck: true },
  files: ['src/platform-app.ts', 'src/consumer-app.ts'],
};

const READ_TOKEN = `import { createHash } from 'node:crypto';
import { getToken } from '@token-refresher/client';

const { token, expiresAt } = await getToken(process.argv[2] ?? '');
console.log(JSON.stringify({ sha256: createHash('sha256').update(token).digest('hex'), expiresAt }));
`;

const PREFIX = '/token-refresher/prod';
const ACCOUNT_REGION = "{ account: '123456789012', region: 'eu-west-1' }";

/** The platform team's app: deploys the refresher from the package (handlers shipped built in assets/). */
const PLATFORM_APP = `import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { TokenRefresher } from '@token-refresher/cdk';

const app = new App({ outdir: process.argv[2] ?? 'cdk.out' });
const stack = new Stack(app, 'TokenRefresher', { env: ${ACCOUNT_REGION} });
const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'CashInSecret', 'token-refresher/prod/cash-in');
new TokenRefresher(stack, 'Refresher', {
  parameterPrefix: '${PREFIX}',
  sources: [{ id: 'cash-in', provider: 'paypack', secret }],
});
app.synth();
`;

/** Another team's app: reaches the deployed refresher by its prefix and lets one function read one token. */
const CONSUMER_APP = `import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TokenRefresher } from '@token-refresher/cdk';

const app = new App({ outdir: process.argv[2] ?? 'cdk.out' });
const stack = new Stack(app, 'PaymentsService', { env: ${ACCOUNT_REGION} });
const tokens = TokenRefresher.fromParameterPrefix(stack, 'Tokens', '${PREFIX}');
const payments = new lambda.Function(stack, 'Payments', {
  runtime: lambda.Runtime.NODEJS_24_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('export const handler = async () => ({});'),
  environment: { TOKEN_PARAMETER_NAME: tokens.parameterName('paypack', 'cash-in') },
});
tokens.grantRead(payments, 'paypack', 'cash-in');
app.synth();
`;

type Json = Record<string, unknown>;
const resources = (template: Json) => Object.values(template.Resources as Record<string, Json>);
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Json;

describe('the packed package, installed as a consumer team installs it', () => {
  let work: string;
  let project: string;
  let tarballs: { client: string; cdk: string };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'token-refresher-consumer-'));
    await run(
      'npm',
      ['pack', '-w', 'packages/client', '-w', 'packages/cdk', '--pack-destination', work],
      repo,
    );
    const tarballOf = (name: string) =>
      join(work, readdirSync(work).find((file) => file.startsWith(name)) ?? name);
    tarballs = { client: tarballOf('token-refresher-client-'), cdk: tarballOf('token-refresher-cdk-') };
    project = join(work, 'payments-service');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'payments-service', private: true, type: 'module' }),
    );
    // Peers are not fetched (--legacy-peer-deps): the project links this repository's copies below.
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--legacy-peer-deps',
        '--no-audit',
        '--no-fund',
        tarballs.client,
        tarballs.cdk,
      ],
      project,
    );
    for (const tool of ['typescript', '@types/node', 'aws-cdk-lib', 'constructs', '@aws-sdk/client-ssm']) {
      mkdirSync(join(project, 'node_modules', tool, '..'), { recursive: true });
      symlinkSync(join(repo, 'node_modules', tool), join(project, 'node_modules', tool), 'dir');
    }
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG, null, 2));
    writeFileSync(join(project, 'tsconfig.cdk.json'), JSON.stringify(CDK_TSCONFIG, null, 2));
    writeFileSync(join(project, 'src/read-token.ts'), READ_TOKEN);
    writeFileSync(join(project, 'src/platform-app.ts'), PLATFORM_APP);
    writeFileSync(join(project, 'src/consumer-app.ts'), CONSUMER_APP);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled JavaScript, declarations, the JSON Schema and built handlers, and no sources or tests', async () => {
    const listing = async (tarball: string) =>
      (await run('tar', ['-tzf', tarball], work)).stdout.trim().split('\n');
    const client = await listing(tarballs.client);
    const cdk = await listing(tarballs.cdk);
    for (const expected of [
      'package/dist/get-token.js',
      'package/dist/get-token.d.ts',
      'package/schema/published-token.schema.json',
      'package/python/token_reader.py',
      'package/LICENSE',
    ]) {
      assert.ok(client.includes(expected), `${expected} is in the client tarball`);
    }
    for (const expected of [
      'package/dist/index.js',
      'package/dist/types/infra/cdk.d.ts',
      'package/assets/paypack/index.mjs',
      'package/assets/papaya/index.mjs',
      'package/assets/oauth2/index.mjs',
      'package/LICENSE',
    ]) {
      assert.ok(cdk.includes(expected), `${expected} is in the cdk tarball`);
    }
    for (const file of [...client, ...cdk]) {
      assert.ok(!/\.ts$/.test(file) || file.endsWith('.d.ts'), `${file}: no TypeScript sources`);
      assert.ok(!file.startsWith('package/test/'), `${file}: no tests`);
    }
    const installed = (name: string) =>
      readJson(join(project, 'node_modules/@token-refresher', name, 'package.json'));
    assert.equal(installed('client').dependencies, undefined, 'the client has no dependencies');
    assert.deepEqual(Object.keys(installed('client').peerDependencies as Json), ['@aws-sdk/client-ssm']);
    assert.equal(installed('cdk').dependencies, undefined, 'the construct library has no dependencies');
    assert.deepEqual(Object.keys(installed('cdk').peerDependencies as Json).sort(), [
      'aws-cdk-lib',
      'constructs',
    ]);
  });

  it('compiles `import { getToken } from "@token-refresher/client"` under NodeNext (no allowImportingTsExtensions, library checks on)', async () => {
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    // Including the package's .d.ts files (skipLibCheck is off).
    await run(process.execPath, [tsc, '-p', '.'], project);
    assert.ok(readdirSync(join(project, 'out')).includes('read-token.js'));
  });

  it('the compiled consumer reads, with plain node, a token the real refresher published to moto', async () => {
    const world = await World.start();
    try {
      const source = await world.paypackSource();
      const result = await world.handler()({ sources: [source] });
      world.capture.record(result);
      assert.equal(result.outcomes[0]?.status, 'refreshed');
      const published = parsePublishedToken(
        (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
      );
      assert.ok(published);

      const { stdout } = await run(process.execPath, ['out/read-token.js', source.parameterName], project, {
        PATH: process.env.PATH,
        AWS_ENDPOINT_URL: world.moto.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      });
      const read = JSON.parse(stdout) as { sha256: string; expiresAt: string };
      assert.equal(read.sha256, createHash('sha256').update(published.token).digest('hex'));
      assert.equal(read.expiresAt, published.expiresAt);
    } finally {
      await world.stop();
    }
  });

  it('adds under 3 KiB of minified code to a consumer bundle (SDK external), and no validation library', async (t) => {
    // The consumer's own bundler; the project installs none, so this repository's is used.
    const esbuild = join(repo, 'node_modules/.bin/esbuild');
    writeFileSync(
      join(project, 'with-client.mjs'),
      "import { getToken } from '@token-refresher/client';\nexport const handler = async () => (await getToken(process.env.TOKEN_PARAMETER_NAME)).expiresAt;\n",
    );
    // The same read without the package: what a team would write by hand.
    writeFileSync(
      join(project, 'by-hand.mjs'),
      "import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';\nconst ssm = new SSMClient({});\nexport const handler = async () => JSON.parse((await ssm.send(new GetParameterCommand({ Name: process.env.TOKEN_PARAMETER_NAME, WithDecryption: true }))).Parameter.Value).expiresAt;\n",
    );
    const sizes: Record<string, number> = {};
    for (const name of ['with-client', 'by-hand']) {
      await run(
        esbuild,
        [
          `${name}.mjs`,
          '--bundle',
          '--minify',
          '--format=esm',
          '--platform=node',
          '--target=node20',
          '--external:@aws-sdk/*',
          `--outfile=${name}.out.mjs`,
          `--metafile=${name}.meta.json`,
        ],
        project,
      );
      sizes[name] = readFileSync(join(project, `${name}.out.mjs`)).length;
    }
    const inputs = Object.keys(readJson(join(project, 'with-client.meta.json')).inputs as Json);
    assert.deepEqual(inputs.sort(), [
      'node_modules/@token-refresher/client/dist/get-token.js',
      'node_modules/@token-refresher/client/dist/token-contract.js',
      'with-client.mjs',
    ]);
    const added = (sizes['with-client'] ?? 0) - (sizes['by-hand'] ?? 0);
    t.diagnostic(
      `consumer bundle: ${sizes['with-client']} B with @token-refresher/client, ${sizes['by-hand']} B reading SSM by hand: +${added} B`,
    );
    assert.ok(added < 3072, `client adds ${added} B`);
  });

  it('a second CDK app reaches the refresher by prefix: one parameter, a conditioned Decrypt, no exports', async () => {
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.cdk.json'], project);
    await run(process.execPath, ['out/platform-app.js', join(work, 'platform.out')], project);
    await run(process.execPath, ['out/consumer-app.js', join(work, 'consumer.out')], project);

    const consumer = readJson(join(work, 'consumer.out/PaymentsService.template.json'));
    const consumerText = JSON.stringify(consumer);
    assert.doesNotMatch(consumerText, /Fn::ImportValue/);
    const statements = resources(consumer)
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .flatMap((policy) => ((policy.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement);
    assert.deepEqual(statements.map((statement) => statement.Action).sort(), [
      'kms:Decrypt',
      'ssm:GetParameter',
    ]);
    const getParameter = statements.find((statement) => statement.Action === 'ssm:GetParameter') as Json;
    const parameterArn = getParameter.Resource as Json;
    assert.ok(!Array.isArray(parameterArn), 'exactly one parameter ARN');
    assert.match(
      JSON.stringify(parameterArn),
      /:ssm:eu-west-1:123456789012:parameter\/token-refresher\/prod\/tokens\//,
    );
    assert.doesNotMatch(JSON.stringify(parameterArn), /\*/);
    const decrypt = statements.find((statement) => statement.Action === 'kms:Decrypt') as Json;
    assert.deepEqual(decrypt.Condition, {
      StringEquals: {
        'kms:ViaService': 'ssm.eu-west-1.amazonaws.com',
        'kms:EncryptionContext:PARAMETER_ARN': parameterArn,
      },
    });
    // The key ARN is a deploy-time SSM parameter value, named after the refresher's prefix.
    const keyRef = (decrypt.Resource as { Ref: string }).Ref;
    const keyParameter = (consumer.Parameters as Record<string, Json>)[keyRef];
    assert.equal(keyParameter?.Type, 'AWS::SSM::Parameter::Value<String>');

    // The platform app, built from the same package, publishes exactly what the consumer app reads.
    const platformDir = join(work, 'platform.out');
    const platform = readJson(join(platformDir, 'TokenRefresher.template.json'));
    const published = resources(platform).find((resource) => resource.Type === 'AWS::SSM::Parameter');
    assert.ok(published, 'the refresher publishes its key ARN');
    const publishedProps = published.Properties as Json;
    assert.equal(publishedProps.Name, keyParameter?.Default);
    assert.equal(publishedProps.Type, 'String');
    assert.match(JSON.stringify(publishedProps.Value), /ParameterKey.*Arn/);
    const scheduleInputs = readdirSync(platformDir)
      .filter((file) => file.endsWith('.nested.template.json'))
      .flatMap((file) => resources(readJson(join(platformDir, file))))
      .filter((resource) => resource.Type === 'AWS::Scheduler::Schedule')
      .map((schedule) => JSON.stringify((schedule.Properties as Json).Target));
    const written = /\\"parameterName\\":\\"([^\\]+)\\"/.exec(scheduleInputs.join(''))?.[1];
    assert.ok(written, 'the schedule names the parameter the refresher writes');
    assert.ok(JSON.stringify(parameterArn).includes(`:parameter${written}"`), `grant covers ${written}`);
    const platformFunction = resources(platform).find(
      (resource) =>
        resource.Type === 'AWS::Lambda::Function' && /Refreshes paypack/.test(JSON.stringify(resource)),
    );
    assert.ok(platformFunction, 'the refresher function is synthesized from the packaged handler');
  });
});
