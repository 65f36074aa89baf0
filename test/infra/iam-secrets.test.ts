import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { StageConfig, StageSource } from '../../infra/config/stage-config.ts';
import { stages } from '../../infra/config/stages.ts';
import { TokenRefresher } from '../../infra/token-refresher.ts';
import { TokenRefresherStack } from '../../infra/token-refresher-stack.ts';
import {
  baseStage,
  type Json,
  nestedTemplates,
  resourcesIn,
  resourcesOf,
  synthStage,
  testApp,
} from './helpers.ts';
import { ACCOUNT, REGION, rolePolicies, simulate } from './iam-policies.ts';

const paypack = (id: string, secret: StageSource['secret']): StageSource => ({
  id,
  provider: 'paypack',
  environment: 'production',
  secret,
});

/** Ids ending in "-" and 6 characters: the partial ARN of such a name reads as a complete ARN. */
const prodLike: StageConfig = {
  name: 'prodlike',
  alarmEmail: 'oncall@acme.internal',
  sources: [
    paypack('paypack-cashin', { name: 'token-refresher/prod/paypack-cashin' }),
    paypack('paypack-payout', { name: 'token-refresher/prod/paypack-payout' }),
  ],
};

/** A JSON string CDK rendered as Fn::Join around references: each reference becomes REF(<name>). */
function parseRendered(value: unknown): unknown {
  if (typeof value === 'string') return JSON.parse(value);
  const [, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = parts
    .map((part) =>
      typeof part === 'string'
        ? part
        : `REF(${(part as { Ref?: string }).Ref ?? JSON.stringify(part).replaceAll('"', '')})`,
    )
    .join('');
  return JSON.parse(text);
}

/** What the handler is told for each source: schedule inputs, deploy-time refresh, and the pinned map. */
function handlerSecretIds(stage: StageConfig) {
  const { stack, template } = synthStage(stage);
  const shards = nestedTemplates(stack);
  const definitions = [
    ...resourcesIn(shards, 'AWS::Scheduler::Schedule').map(
      ([, schedule]) =>
        (parseRendered(((schedule.Properties as Json).Target as Json).Input) as { sources: unknown[] })
          .sources,
    ),
    ...resourcesIn(shards, 'Custom::TokenRefresherFirstRefresh').map(([, batch]) =>
      parseRendered((batch.Properties as Json).Sources),
    ),
  ].flat() as { id: string; secretId: unknown }[];
  const pinned = resourcesOf(template, 'AWS::Lambda::Function')
    .map(([, fn]) => ((fn.Properties as Json).Environment as { Variables?: Json } | undefined)?.Variables)
    .filter((variables) => variables?.REFRESHER_SOURCE_SECRETS !== undefined)
    .map((variables) => parseRendered(variables?.REFRESHER_SOURCE_SECRETS));
  return { stack, template, definitions, pinned };
}

describe('secrets imported by name', () => {
  it('hands the handler the plain name and grants IAM on the complete ARN pattern (ids ending in -cashin, -payout)', async () => {
    const { template, definitions, pinned } = handlerSecretIds(prodLike);
    assert.equal(definitions.length, 4, 'two schedules and two deploy-time refresh entries');
    for (const definition of definitions) {
      assert.equal(definition.secretId, `token-refresher/prod/${definition.id}`);
    }
    assert.deepEqual(pinned, [
      {
        'paypack-cashin': 'token-refresher/prod/paypack-cashin',
        'paypack-payout': 'token-refresher/prod/paypack-payout',
      },
    ]);
    const [roleId, policies] =
      [...rolePolicies(template)].find(([id]) => id.startsWith('RefresherPaypackRefresherRole')) ?? [];
    assert.ok(roleId && policies);
    const resources = policies
      .flatMap((policy) => policy.Statement)
      .filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:'))
      .flatMap((statement) => [statement.Resource].flat());
    assert.deepEqual(resources.sort(), [
      `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/prod/paypack-cashin-??????`,
      `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/prod/paypack-payout-??????`,
    ]);
    const principal = `arn:aws:iam::${ACCOUNT}:role/${roleId}`;
    const read = (arn: string) =>
      simulate(principal, policies, { action: 'secretsmanager:GetSecretValue', resource: arn, context: {} });
    const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;
    assert.equal(await read(secretArn('token-refresher/prod/paypack-cashin-Xy12Zw')), 'Allowed');
    assert.equal(
      await read(secretArn('token-refresher/prod/paypack-cashin')),
      'ImplicitlyDenied',
      'the partial ARN the handler used to get does not match',
    );
  });

  it('does so for the shipped prod stage', () => {
    const prod = stages.find((stage) => stage.name === 'prod');
    assert.ok(prod);
    const { definitions } = handlerSecretIds(prod);
    assert.ok(definitions.length > 0);
    for (const definition of definitions) {
      assert.doesNotMatch(String(definition.secretId), /^arn:/, definition.id);
      assert.equal(definition.secretId, `token-refresher/prod/${definition.id}`);
    }
  });

  it('hands the handler complete ARNs for ARN-imported and created secrets', () => {
    const complete = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/test/cash-in-AbCdEf`;
    const { definitions, pinned } = handlerSecretIds({
      ...baseStage,
      sources: [
        paypack('cash-in', { arn: complete }),
        paypack('cash-out', { create: true }),
        ...baseStage.sources.slice(1),
      ],
    });
    const byId = Object.fromEntries(definitions.map((definition) => [definition.id, definition.secretId]));
    assert.equal(byId['cash-in'], complete);
    // A created secret's Ref is its complete ARN (passed into the schedules' nested stack as a parameter).
    assert.match(String(byId['cash-out']), /^REF\(referenceto.*Secretcashout[A-F0-9]+Ref\)$/);
    assert.match(JSON.stringify(pinned), /"cash-out":"REF\(SecretcashoutE?[A-F0-9]+\)"/);
  });
});

describe("a secret's own customer managed key", () => {
  it("is granted for Decrypt to that source's provider function, only through Secrets Manager and only for its secret", async () => {
    const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const { template } = synthStage({
      ...baseStage,
      sources: [
        { ...(baseStage.sources[0] as StageSource), secretKmsKeyArn: keyArn },
        ...baseStage.sources.slice(1),
      ],
    });
    const ownSecret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/test/cash-in-AbCdEf`;
    const otherSecret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/test/other-AbCdEf`;
    const viaSecretsManager = `secretsmanager.${REGION}.amazonaws.com`;
    const requests: Record<string, Record<string, string>> = {
      'own secret, through Secrets Manager': {
        'kms:ViaService': viaSecretsManager,
        'kms:EncryptionContext:SecretARN': ownSecret,
      },
      'another secret under the same key': {
        'kms:ViaService': viaSecretsManager,
        'kms:EncryptionContext:SecretARN': otherSecret,
      },
      'own secret, called directly': { 'kms:EncryptionContext:SecretARN': ownSecret },
      'own secret, through another service': {
        'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
        'kms:EncryptionContext:SecretARN': ownSecret,
      },
    };
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    };
    const decisions: Record<string, string> = {};
    for (const [id, policies] of rolePolicies(template)) {
      if (!id.includes('RefresherRole')) continue;
      const provider = id.startsWith('RefresherPaypack') ? 'paypack' : 'papaya';
      for (const [name, context] of Object.entries(requests)) {
        decisions[`${provider}: ${name}`] = await simulate(
          `arn:aws:iam::${ACCOUNT}:role/${id}`,
          policies,
          { action: 'kms:Decrypt', resource: keyArn, context },
          keyPolicy,
        );
      }
    }
    assert.deepEqual(decisions, {
      'paypack: own secret, through Secrets Manager': 'Allowed',
      'paypack: another secret under the same key': 'ImplicitlyDenied',
      'paypack: own secret, called directly': 'ImplicitlyDenied',
      'paypack: own secret, through another service': 'ImplicitlyDenied',
      'papaya: own secret, through Secrets Manager': 'ImplicitlyDenied',
      'papaya: another secret under the same key': 'ImplicitlyDenied',
      'papaya: own secret, called directly': 'ImplicitlyDenied',
      'papaya: own secret, through another service': 'ImplicitlyDenied',
    });
  });
});

describe('synth rejects secret references that cannot work, saying what to change', () => {
  const reject = (sources: StageSource[], message: RegExp) =>
    assert.throws(
      () => new TokenRefresherStack(testApp(), 'Bad', { stage: { ...baseStage, sources } }),
      message,
    );

  it('a partial ARN given as arn', () => {
    reject(
      [
        paypack('cash-in', {
          arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/test/cash-in`,
        }),
      ],
      /stage "test", source "cash-in": secret arn ".*" is not a complete ARN \(it must end in "-" and the 6 characters Secrets Manager adds: copy ARN from `aws secretsmanager describe-secret`\), or give \{ name: '<secret name>' \}/,
    );
  });

  it("a partial ARN whose name ends in '-' and six letters (the old docs' own example) is ambiguous", () => {
    reject(
      [
        paypack('paypack-cashin', {
          arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/test/paypack-cashin`,
        }),
      ],
      /source "paypack-cashin": secret arn ".*" is ambiguous: its last 7 characters "-cashin" could be part of the secret's name.*give \{ name: '<secret name>' \}/,
    );
  });

  it('an ARN given as name', () => {
    reject(
      [paypack('cash-in', { name: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:x-AbCdEf` })],
      /source "cash-in": secret name "arn:.*" is an ARN: give it as \{ arn: '…' \}/,
    );
  });

  it('a secret of another account known only by partial ARN (the construct API)', () => {
    const stack = new Stack(testApp(), 'Direct', { env: { account: ACCOUNT, region: REGION } });
    assert.throws(
      () =>
        new TokenRefresher(stack, 'Refresher', {
          sources: [
            {
              id: 'cash-in',
              provider: 'paypack',
              secret: secretsmanager.Secret.fromSecretPartialArn(
                stack,
                'Elsewhere',
                'arn:aws:secretsmanager:eu-west-1:210987654321:secret:shared/cash-in',
              ),
            },
          ],
        }),
      /source "cash-in": the secret lives in account 210987654321, region eu-west-1, and is known only by a partial ARN; import it with Secret.fromSecretCompleteArn/,
    );
  });
});

describe('fleet secret prefixes are per provider', () => {
  const twoProviders = (secretNamePrefix: StageConfig['secretNamePrefix'], names: [string, string]) =>
    ({
      ...baseStage,
      secretNamePrefix,
      sources: [
        { ...(baseStage.sources[0] as StageSource), secret: { name: names[0] } },
        { ...(baseStage.sources[1] as StageSource), secret: { name: names[1] } },
      ],
    }) satisfies StageConfig;

  const secretResources = (stage: StageConfig) => {
    const { template } = synthStage(stage);
    return Object.fromEntries(
      [...rolePolicies(template)]
        .filter(([id]) => id.includes('RefresherRole'))
        .map(([id, policies]) => [
          id.startsWith('RefresherPaypack') ? 'paypack' : 'papaya',
          policies
            .flatMap((policy) => policy.Statement)
            .filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:'))
            .flatMap((statement) => [statement.Resource].flat()),
        ]),
    );
  };

  it('a string prefix gives each provider <prefix><provider>/, in its grant and in its pinned environment', () => {
    const stage = twoProviders('tr/fleet/', ['tr/fleet/paypack/cash-in', 'tr/fleet/papaya/payroll']);
    const pinned = resourcesOf(synthStage(stage).template, 'AWS::Lambda::Function')
      .map(([, fn]) => ((fn.Properties as Json).Environment as { Variables?: Json } | undefined)?.Variables)
      .map((variables) => variables?.REFRESHER_SECRET_NAME_PREFIX)
      .filter((prefix) => prefix !== undefined);
    assert.deepEqual(pinned.sort(), ['tr/fleet/papaya/', 'tr/fleet/paypack/']);
    assert.deepEqual(secretResources(stage), {
      paypack: [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tr/fleet/paypack/*`],
      papaya: [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tr/fleet/papaya/*`],
    });
  });

  it('a map names each provider prefix (a one-provider fleet keeps its names)', () => {
    assert.deepEqual(
      secretResources(
        twoProviders({ paypack: 'tr/paypack-fleet/', papaya: 'tr/papaya-fleet/' }, [
          'tr/paypack-fleet/cash-in',
          'tr/papaya-fleet/payroll',
        ]),
      ),
      {
        paypack: [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tr/paypack-fleet/*`],
        papaya: [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tr/papaya-fleet/*`],
      },
    );
  });

  it('rejects a prefix covering another provider, and a name outside its provider prefix', () => {
    assert.throws(
      () =>
        synthStage(
          twoProviders({ paypack: 'tr/', papaya: 'tr/papaya/' }, ['tr/cash-in', 'tr/papaya/payroll']),
        ),
      /stage "test": the secret name prefix of paypack \("tr\/"\) also covers papaya's \("tr\/papaya\/"\); give each provider a prefix of its own/,
    );
    assert.throws(
      () => synthStage(twoProviders('tr/', ['tr/cash-in', 'tr/papaya/payroll'])),
      /source "cash-in": with secretNamePrefix its secret must be named "tr\/paypack\/cash-in" \(it is "tr\/cash-in"\) \(to keep names without a provider segment in a one-provider fleet, set secretNamePrefix to \{ paypack: 'tr\/' \}\)/,
    );
    assert.throws(
      () => synthStage(twoProviders({ paypack: 'tr/paypack/' }, ['tr/paypack/cash-in', 'tr/papaya/payroll'])),
      /"secretNamePrefix" names no prefix for provider "papaya"/,
    );
  });
});
