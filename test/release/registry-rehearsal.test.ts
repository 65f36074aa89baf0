import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';
import { type LocalRegistry, repo, run, startRegistry } from './registry.ts';

/**
 * A release rehearsal: both packages published to a real registry (verdaccio),
 * then installed by name into fresh projects that know only the registry and the
 * package names, as a consumer team and a platform team would.
 */
type Json = Record<string, unknown>;

/** Packages a project has installed, by name, from `npm ls`. */
async function installedNames(project: string, path: string): Promise<Set<string>> {
  const { stdout } = await run('npm', ['ls', '--all', '--parseable'], project, {
    ...process.env,
    PATH: path,
  });
  return new Set(
    stdout
      .trim()
      .split('\n')
      .filter((line) => line.includes('node_modules'))
      .map((line) => line.slice(line.lastIndexOf('node_modules/') + 'node_modules/'.length)),
  );
}

function freshProject(work: string, name: string, registry: LocalRegistry): string {
  const project = join(work, name);
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  writeFileSync(join(project, '.npmrc'), registry.npmrc);
  return project;
}

const INSTALL = ['install', '--no-audit', '--no-fund', '--prefer-offline'];

describe('release rehearsal: publish both packages to a real registry, install them by name', () => {
  let work: string;
  let registry: LocalRegistry;
  let node22Path: string;
  let published: Record<string, string>;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'token-refresher-release-'));
    registry = await startRegistry(join(work, 'registry'));
    const packs = join(work, 'packs');
    mkdirSync(packs);
    await run(
      'npm',
      ['pack', '-w', 'packages/client', '-w', 'packages/cdk', '--pack-destination', packs],
      repo,
    );
    published = {};
    for (const tarball of readdirSync(packs)) {
      const publisher = freshProject(work, `publish-${tarball}`, registry);
      await run('npm', ['publish', join(packs, tarball)], publisher);
      published[tarball] = tarball;
    }
    // Node 22 (Lambda's nodejs22.x) from npm's `node` package, as the repository gets Node 24.
    const node22 = join(work, 'node22');
    mkdirSync(node22);
    await run('npm', [...INSTALL, '--prefix', node22, 'node@22'], work);
    node22Path = [join(node22, 'node_modules/.bin'), process.env.PATH].join(delimiter);
  });

  after(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('publishes exactly the two packages, at the versions in their package.json', async () => {
    assert.deepEqual(Object.keys(published).sort(), [
      `token-refresher-cdk-${version('cdk')}.tgz`,
      `token-refresher-client-${version('client')}.tgz`,
    ]);
    for (const name of ['client', 'cdk']) {
      const packument = (await (await fetch(`${registry.url}@token-refresher%2f${name}`)).json()) as Json;
      assert.deepEqual(Object.keys(packument.versions as Json), [version(name)]);
    }
  });

  it('a Node 22 project installs the client and the SDK: no EBADENGINE, nothing beyond the SDK, reads a token from moto', async () => {
    const node = join(work, 'node22/node_modules/.bin/node');
    assert.match((await run(node, ['--version'], work)).stdout, /^v22\./);
    const sdkOnly = freshProject(work, 'sdk-only', registry);
    await run('npm', [...INSTALL, '@aws-sdk/client-ssm'], sdkOnly, { ...process.env, PATH: node22Path });
    const consumer = freshProject(work, 'payments-service', registry);
    const install = await run(
      'npm',
      [...INSTALL, '@token-refresher/client', '@aws-sdk/client-ssm'],
      consumer,
      {
        ...process.env,
        PATH: node22Path,
      },
    );
    assert.doesNotMatch(`${install.stdout}${install.stderr}`, /EBADENGINE/);
    const withClient = await installedNames(consumer, node22Path);
    const sdk = await installedNames(sdkOnly, node22Path);
    assert.deepEqual(
      [...withClient].filter((name) => !sdk.has(name)),
      ['@token-refresher/client'],
      'the client brings nothing of its own',
    );

    writeFileSync(
      join(consumer, 'read-token.mjs'),
      "import { createHash } from 'node:crypto';\nimport { getToken } from '@token-refresher/client';\nconst { token, expiresAt } = await getToken(process.argv[2]);\nconsole.log(JSON.stringify({ sha256: createHash('sha256').update(token).digest('hex'), expiresAt, node: process.version }));\n",
    );
    const world = await World.start();
    try {
      const source = await world.paypackSource();
      world.capture.record(await world.handler()({ sources: [source] }));
      const token = parsePublishedToken(
        (await readParameter(world.aws.ssm, source.parameterName))?.value ?? '',
      );
      assert.ok(token);
      const { stdout } = await run(node, ['read-token.mjs', source.parameterName], consumer, {
        PATH: node22Path,
        AWS_ENDPOINT_URL: world.moto.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      });
      const read = JSON.parse(stdout) as { sha256: string; expiresAt: string; node: string };
      assert.equal(read.sha256, createHash('sha256').update(token.token).digest('hex'));
      assert.equal(read.expiresAt, token.expiresAt);
      assert.match(read.node, /^v22\./);
    } finally {
      await world.stop();
    }
  });

  it("the client's own tests pass on Node 22 too (they run on Node 24 with the rest)", async () => {
    const node = join(work, 'node22/node_modules/.bin/node');
    const { stdout } = await run(
      node,
      ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/unit/get-token.test.ts'],
      repo,
      // Without this runner's own context, the nested runner reports to its stdout as a top-level run does.
      {
        ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_TEST_CONTEXT')),
        PATH: node22Path,
      },
    );
    assert.match(stdout, /^# fail 0$/m);
    assert.match(stdout, /^# pass [1-9]\d*$/m);
  });

  it('a CDK app installs the construct by name, deploys a Paypack source, grants its own function one token, and synthesizes without credentials or esbuild', async () => {
    const app = freshProject(work, 'platform-app', registry);
    await run('npm', [...INSTALL, '@token-refresher/cdk', 'aws-cdk-lib', 'constructs'], app);
    assert.ok(!existsSync(join(app, 'node_modules/esbuild')), 'esbuild is not installed');
    assert.ok(!existsSync(join(app, 'node_modules/valibot')), "nor the refresher's runtime");
    writeFileSync(
      join(app, 'app.mjs'),
      `import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { TokenRefresher } from '@token-refresher/cdk';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Payments', { env: { account: '123456789012', region: 'eu-west-1' } });
const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'CashIn', 'token-refresher/prod/paypack/cash-in');
const refresher = new TokenRefresher(stack, 'Tokens', {
  parameterPrefix: '/token-refresher/prod',
  sources: [{ id: 'cash-in', provider: 'paypack', secret }],
});
const payments = new lambda.Function(stack, 'Payments', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('export const handler = async () => ({});'),
  environment: { TOKEN_PARAMETER_NAME: refresher.parameterName('cash-in') },
});
refresher.grantRead(payments, 'cash-in');
app.synth();
`,
    );
    const noCredentials = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('CDK_')),
    );
    await run(process.execPath, ['app.mjs'], app, {
      ...noCredentials,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    });
    const out = join(app, 'cdk.out');
    const template = JSON.parse(readFileSync(join(out, 'Payments.template.json'), 'utf8')) as Json;
    const resources = Object.values(template.Resources as Record<string, Json>);
    const statements = resources
      .filter((resource) => resource.Type === 'AWS::IAM::Policy')
      .filter((policy) => JSON.stringify(policy.Properties).includes('PaymentsServiceRole'))
      .flatMap((policy) => ((policy.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement);
    const reads = statements.filter((statement) => statement.Action === 'ssm:GetParameter');
    assert.equal(reads.length, 1, 'one GetParameter statement');
    assert.match(
      JSON.stringify(reads[0]?.Resource),
      /parameter\/token-refresher\/prod\/tokens\/paypack\/cash-in"/,
    );
    // The refresher's function deploys the handler shipped in the package, byte for byte.
    const shipped = readFileSync(join(app, 'node_modules/@token-refresher/cdk/assets/paypack/index.mjs'));
    const assets = readdirSync(out).filter((name) => name.startsWith('asset.'));
    const deployed = assets.map((name) => join(out, name, 'index.mjs')).filter((file) => existsSync(file));
    assert.ok(
      deployed.some((file) => readFileSync(file).equals(shipped)),
      `the packaged paypack handler is an asset (${deployed.map((file) => dirname(file)).join(', ')})`,
    );
  });
});

function version(name: string): string {
  return (
    JSON.parse(readFileSync(join(repo, 'packages', name, 'package.json'), 'utf8')) as { version: string }
  ).version;
}
