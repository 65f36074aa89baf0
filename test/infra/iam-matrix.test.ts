import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { StageConfig, StageSource } from '../../infra/config/stage-config.ts';
import { TokenRefresherStack } from '../../infra/token-refresher-stack.ts';
import { providerFactories } from '../../lambda/providers/index.ts';
import { baseStage, testApp } from './helpers.ts';
import {
  ACCOUNT,
  type Decision,
  PARTITION,
  type PolicyDocument,
  REGION,
  resolveIntrinsics,
  rolePolicies,
  type SimulatedRequest,
  simulate,
} from './iam-policies.ts';

/**
 * The allowed/denied matrix of every principal the stack creates or grants,
 * evaluated by a real IAM policy engine (@cloud-copilot/iam-simulate) on the
 * synthesized templates. Expectations are the rules docs/security.md states;
 * every cell is asserted, allow and deny alike.
 */

const PREFIX = '/token-refresher/matrix';
const cashOut: StageSource = {
  id: 'cash-out',
  provider: 'paypack',
  environment: 'production',
  secret: { name: 'token-refresher/test/cash-out' },
};

const perSourceSecrets: StageConfig = {
  ...baseStage,
  name: 'matrix',
  sources: [...baseStage.sources, cashOut],
  exampleConsumerSourceId: 'cash-in',
};

const fleet: StageConfig = {
  ...perSourceSecrets,
  secretNamePrefix: 'token-refresher/fleet/',
  sources: perSourceSecrets.sources.map((source) => ({
    ...source,
    secret: { name: `token-refresher/fleet/${source.provider}/${source.id}` },
  })),
};

type Check =
  | 'get token'
  | 'put token'
  | 'get private state'
  | 'put private state'
  | 'decrypt token via SSM'
  | 'encrypt token via SSM'
  | 'decrypt token outside SSM'
  | 'decrypt private state via SSM'
  | 'encrypt private state via SSM'
  | 'read secret'
  | 'describe secret'
  | 'update lease'
  | 'get lease'
  | 'put lease'
  | 'update lease by bare source id';

interface Principal {
  name: string;
  /** The rule the docs state for this principal: may it do `check` on `source`? */
  may(check: Check, source: StageSource): boolean;
  roleIdPrefix: string;
}

const REFRESHER_NEEDS: Check[] = [
  'get token',
  'put token',
  'decrypt token via SSM',
  'encrypt token via SSM',
  'read secret',
  'update lease',
];
const PRIVATE_STATE: Check[] = [
  'get private state',
  'put private state',
  'decrypt private state via SSM',
  'encrypt private state via SSM',
];

const refresher = (provider: 'paypack' | 'papaya'): Principal => ({
  name: `${provider} refresher role`,
  roleIdPrefix: `Refresher${provider.charAt(0).toUpperCase()}${provider.slice(1)}RefresherRole`,
  may: (check, source) =>
    source.provider === provider &&
    (REFRESHER_NEEDS.includes(check) ||
      (PRIVATE_STATE.includes(check) && providerFactories[provider]().usesPrivateState)),
});

const consumer = (name: string, roleIdPrefix: string, sourceId: string): Principal => ({
  name,
  roleIdPrefix,
  may: (check, source) =>
    source.id === sourceId && (check === 'get token' || check === 'decrypt token via SSM'),
});

const PRINCIPALS: Principal[] = [
  refresher('paypack'),
  refresher('papaya'),
  consumer('example consumer (cash-in)', 'ExampleConsumerRole', 'cash-in'),
  consumer('grantRead consumer (payroll)', 'GrantedReaderRole', 'payroll'),
];

const parameterArn = (name: string) => `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:parameter${name}`;

function requestFor(check: Check, source: StageSource, keyArn: string, tableArn: string): SimulatedRequest {
  const token = parameterArn(`${PREFIX}/tokens/${source.provider}/${source.id}`);
  const privateState = parameterArn(`${PREFIX}/private/${source.provider}/${source.id}/refresh-token`);
  const viaSsm = (parameter: string) => ({
    'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
    'kms:EncryptionContext:PARAMETER_ARN': parameter,
  });
  const secretName = 'name' in source.secret ? source.secret.name : '';
  const secretArn = `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${secretName}-AbCdEf`;
  const lease = { 'dynamodb:LeadingKeys': [`${source.provider}/${source.id}`] };
  const requests: Record<Check, SimulatedRequest> = {
    'get token': { action: 'ssm:GetParameter', resource: token, context: {} },
    'put token': { action: 'ssm:PutParameter', resource: token, context: {} },
    'get private state': { action: 'ssm:GetParameter', resource: privateState, context: {} },
    'put private state': { action: 'ssm:PutParameter', resource: privateState, context: {} },
    'decrypt token via SSM': { action: 'kms:Decrypt', resource: keyArn, context: viaSsm(token) },
    'encrypt token via SSM': { action: 'kms:Encrypt', resource: keyArn, context: viaSsm(token) },
    'decrypt token outside SSM': {
      action: 'kms:Decrypt',
      resource: keyArn,
      context: { 'kms:EncryptionContext:PARAMETER_ARN': token },
    },
    'decrypt private state via SSM': {
      action: 'kms:Decrypt',
      resource: keyArn,
      context: viaSsm(privateState),
    },
    'encrypt private state via SSM': {
      action: 'kms:Encrypt',
      resource: keyArn,
      context: viaSsm(privateState),
    },
    'read secret': { action: 'secretsmanager:GetSecretValue', resource: secretArn, context: {} },
    'describe secret': { action: 'secretsmanager:DescribeSecret', resource: secretArn, context: {} },
    'update lease': { action: 'dynamodb:UpdateItem', resource: tableArn, context: lease },
    'get lease': { action: 'dynamodb:GetItem', resource: tableArn, context: lease },
    'put lease': { action: 'dynamodb:PutItem', resource: tableArn, context: lease },
    'update lease by bare source id': {
      action: 'dynamodb:UpdateItem',
      resource: tableArn,
      context: { 'dynamodb:LeadingKeys': [source.id] },
    },
  };
  return requests[check];
}

function synthWithReader(stage: StageConfig): Template {
  const stack = new TokenRefresherStack(testApp(), `TokenRefresher-${stage.name}`, {
    stage: { ...stage, parameterPrefix: PREFIX },
    env: { account: ACCOUNT, region: REGION },
  });
  const reader = new iam.Role(stack, 'GrantedReaderRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  stack.refresher.grantRead(reader, 'payroll');
  return Template.fromStack(stack);
}

function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  assert.equal(ids.length, 1, `one ${type} named ${prefix}*: ${ids}`);
  return ids[0] as string;
}

interface Cell {
  principal: string;
  source: string;
  check: Check;
  expected: 'allow' | 'deny';
  decision: Decision;
}

async function matrix(stage: StageConfig): Promise<Cell[]> {
  const template = synthWithReader(stage);
  const policies = rolePolicies(template);
  const keyId = logicalId(template, 'AWS::KMS::Key', 'RefresherParameterKey');
  const keyArn = `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
  const keyPolicy = resolveIntrinsics(
    (template.toJSON().Resources[keyId].Properties as { KeyPolicy: unknown }).KeyPolicy,
    template,
  ) as PolicyDocument;
  const tableArn = `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${logicalId(template, 'AWS::DynamoDB::Table', 'RefresherLockTable')}`;
  const cells: Cell[] = [];
  for (const principal of PRINCIPALS) {
    const roleId = logicalId(template, 'AWS::IAM::Role', principal.roleIdPrefix);
    const rolePolicy = policies.get(roleId) ?? [];
    for (const source of stage.sources) {
      for (const check of [...REFRESHER_NEEDS, ...PRIVATE_STATE, ...OTHER_CHECKS]) {
        const request = requestFor(check, source, keyArn, tableArn);
        const decision = await simulate(
          `arn:${PARTITION}:iam::${ACCOUNT}:role/${roleId}`,
          rolePolicy,
          request,
          // KMS evaluates the key policy too (it delegates to IAM through the account root).
          request.action.startsWith('kms:') ? keyPolicy : undefined,
        );
        cells.push({
          principal: principal.name,
          source: source.id,
          check,
          expected: principal.may(check, source) ? 'allow' : 'deny',
          decision,
        });
      }
    }
  }
  return cells;
}

const OTHER_CHECKS: Check[] = [
  'decrypt token outside SSM',
  'describe secret',
  'get lease',
  'put lease',
  'update lease by bare source id',
];

function render(cells: Cell[]): string[] {
  const lines: string[] = [];
  for (const principal of PRINCIPALS) {
    const own = cells.filter((cell) => cell.principal === principal.name);
    const allowed = own.filter((cell) => cell.decision === 'Allowed');
    lines.push(
      `${principal.name}: ${allowed.length} allowed, ${own.length - allowed.length} denied — allowed: ${allowed.map((cell) => `${cell.check} [${cell.source}]`).join(', ')}`,
    );
  }
  return lines;
}

for (const [name, stage] of [
  ['secrets granted one by one', perSourceSecrets],
  ['a fleet with per-provider secret prefixes', fleet],
] as const) {
  describe(`IAM matrix, ${name} (real policy evaluator on the synthesized template)`, () => {
    it('allows exactly what each principal needs and denies everything else', async (t) => {
      const cells = await matrix(stage);
      const allowed = cells.filter((cell) => cell.decision === 'Allowed').length;
      t.diagnostic(`${cells.length} requests: ${allowed} allowed, ${cells.length - allowed} denied`);
      for (const line of render(cells)) t.diagnostic(line);
      const wrong = cells.filter((cell) => (cell.decision === 'Allowed') !== (cell.expected === 'allow'));
      assert.deepEqual(
        wrong.map((cell) => `${cell.principal} ${cell.check} [${cell.source}]: ${cell.decision}`),
        [],
      );
      // Every promised denial is among the cells, so none can drop out unnoticed.
      for (const promised of [
        ['papaya refresher role', 'get private state', 'cash-in'],
        ['papaya refresher role', 'decrypt private state via SSM', 'cash-in'],
        ['papaya refresher role', 'put token', 'cash-in'],
        ['paypack refresher role', 'put token', 'payroll'],
        ['paypack refresher role', 'read secret', 'payroll'],
        ['papaya refresher role', 'read secret', 'cash-in'],
        ['paypack refresher role', 'update lease', 'payroll'],
        ['papaya refresher role', 'update lease', 'cash-in'],
        ['paypack refresher role', 'put lease', 'cash-in'],
        ['paypack refresher role', 'get lease', 'cash-in'],
        ['paypack refresher role', 'describe secret', 'cash-in'],
        ['paypack refresher role', 'decrypt token outside SSM', 'cash-in'],
        ['example consumer (cash-in)', 'get token', 'cash-out'],
        ['example consumer (cash-in)', 'get private state', 'cash-in'],
        ['example consumer (cash-in)', 'decrypt private state via SSM', 'cash-in'],
        ['example consumer (cash-in)', 'put token', 'cash-in'],
        ['grantRead consumer (payroll)', 'get token', 'cash-in'],
        ['grantRead consumer (payroll)', 'decrypt token via SSM', 'cash-in'],
      ]) {
        const cell = cells.find((c) => [c.principal, c.check, c.source].join('|') === promised.join('|'));
        assert.ok(cell && cell.decision !== 'Allowed', `promised denial: ${promised.join(' ')}`);
      }
    });
  });
}

describe('the encryption-context stand-in', () => {
  const keyArn = `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/k`;
  const parameter = parameterArn(`${PREFIX}/tokens/paypack/cash-in`);
  const principal = `arn:${PARTITION}:iam::${ACCOUNT}:role/r`;
  const decryptForParameter: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:EncryptionContext:PARAMETER_ARN': parameter } },
      },
    ],
  };
  // KMS needs the key policy too; this one delegates to IAM, as the stack's key policy does.
  const keyPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${PARTITION}:iam::${ACCOUNT}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
  const decrypt = (context: string) => ({
    action: 'kms:Decrypt',
    resource: keyArn,
    context: { 'kms:EncryptionContext:PARAMETER_ARN': context },
  });

  it('is needed: iam-simulate drops kms:EncryptionContext:* from the request, so an allowed decrypt is denied', async () => {
    const { runSimulation } = await import('@cloud-copilot/iam-simulate');
    const result = await runSimulation(
      {
        identityPolicies: [{ name: 'p', policy: decryptForParameter }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: keyPolicy,
        request: {
          action: 'kms:Decrypt',
          principal,
          resource: { accountId: ACCOUNT, resource: keyArn },
          contextVariables: { 'kms:EncryptionContext:PARAMETER_ARN': parameter },
        },
      },
      {},
    );
    assert.ok(result.resultType === 'single');
    assert.equal(
      result.overallResult,
      'ImplicitlyDenied',
      'if this fails, the simulator now keeps the key: drop the stand-in',
    );
  });

  it('decides as KMS would: the right context is allowed, any other denied', async () => {
    assert.equal(await simulate(principal, [decryptForParameter], decrypt(parameter), keyPolicy), 'Allowed');
    assert.equal(
      await simulate(principal, [decryptForParameter], decrypt(`${parameter}-other`), keyPolicy),
      'ImplicitlyDenied',
    );
    assert.equal(
      await simulate(
        principal,
        [decryptForParameter],
        { action: 'kms:Decrypt', resource: keyArn, context: {} },
        keyPolicy,
      ),
      'ImplicitlyDenied',
      'no encryption context, no match',
    );
  });
});
