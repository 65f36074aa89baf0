import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { PLACEHOLDER_NOTE } from '../../infra/placeholder-note.ts';
import { TokenRefresherReplicaStack } from '../../infra/token-refresher-replica-stack.ts';
import { regionalStackName, TokenRefresherStack } from '../../infra/token-refresher-stack.ts';
import { baseStage, type Json, nestedTemplates, resourcesIn, resourcesOf, testApp } from './helpers.ts';
import {
  ACCOUNT,
  PARTITION,
  type PolicyDocument,
  REGION,
  resolveIntrinsics,
  rolePolicies,
  simulate,
} from './iam-policies.ts';

const PREFIX = '/token-refresher/regions';
const REPLICA = 'us-east-1';
const stage: StageConfig = {
  ...baseStage,
  name: 'regions',
  region: REGION,
  parameterPrefix: PREFIX,
  replicaRegions: [REPLICA],
};

function homeTemplate(config: StageConfig = stage): { stack: TokenRefresherStack; template: Template } {
  const stack = new TokenRefresherStack(testApp(), `TokenRefresher-${config.name}`, {
    stage: config,
    env: { account: ACCOUNT, region: REGION },
  });
  return { stack, template: Template.fromStack(stack) };
}

const ssmArn = (region: string, name: string) => `arn:${PARTITION}:ssm:${region}:${ACCOUNT}:parameter${name}`;
const replicaKey = `arn:${PARTITION}:kms:${REPLICA}:${ACCOUNT}:key/replica-key`;
const tagged = { 'aws:ResourceTag/token-refresher:parameter-prefix': PREFIX };

describe('replica regions in the stacks', () => {
  it('a replica region gets its own key (tagged with the prefix) and meta/key-arn, and nothing else', () => {
    const app = testApp();
    const replica = new TokenRefresherReplicaStack(app, regionalStackName('regions', REPLICA), {
      stage,
      env: { account: ACCOUNT, region: REPLICA },
    });
    const template = Template.fromStack(replica);
    const types = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map(
      (r) => r.Type,
    );
    assert.deepEqual(types.sort(), ['AWS::KMS::Key', 'AWS::SSM::Parameter']);
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: `${PREFIX}/meta/key-arn`, Type: 'String' });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      Tags: [{ Key: 'token-refresher:parameter-prefix', Value: PREFIX }],
    });
    assert.doesNotMatch(
      JSON.stringify(template.toJSON()),
      /private/,
      'no private parameter, no private path',
    );
  });

  it('the home functions are told their replica regions, and alarms and the dashboard watch each one', () => {
    const { stack, template } = homeTemplate();
    const functions = resourcesOf(template, 'AWS::Lambda::Function').filter(
      ([, fn]) =>
        ((fn.Properties as Json).Environment as { Variables?: Json } | undefined)?.Variables
          ?.REFRESHER_DEPLOYMENT,
    );
    assert.ok(functions.length >= 2);
    for (const [, fn] of functions) {
      const variables = ((fn.Properties as Json).Environment as { Variables: Record<string, string> })
        .Variables;
      assert.equal(variables.REFRESHER_REPLICA_REGIONS, JSON.stringify([REPLICA]));
      assert.equal(variables.REFRESHER_REGION_ROLE, 'home');
    }
    const replicaAlarms = resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(
      ([, alarm]) => (alarm.Properties as Json).MetricName === 'ReplicaTokenSecondsRemaining',
    );
    assert.deepEqual(
      replicaAlarms
        .map(([, alarm]) =>
          ((alarm.Properties as Json).Dimensions as { Name: string; Value: string }[])
            .map((d) => `${d.Name}=${d.Value}`)
            .sort()
            .join(','),
        )
        .sort(),
      [
        `Provider=papaya,ReplicaRegion=${REPLICA},service=token-refresher`,
        `Provider=paypack,ReplicaRegion=${REPLICA},service=token-refresher`,
      ],
    );
    for (const [, alarm] of replicaAlarms)
      assert.match(
        String((alarm.Properties as Json).AlarmDescription),
        /docs\/runbook\.md#alarm-replica-token-stale$/,
      );
    assert.match(JSON.stringify(template.toJSON()), /ReplicaBehind/);
    template.hasResourceProperties('AWS::KMS::Key', {
      Tags: [{ Key: 'token-refresher:parameter-prefix', Value: PREFIX }],
    });
    assert.ok(stack);
  });

  it("the standby: schedules off, no deploy-time refresh, the secrets' replicas, copies back to home", () => {
    const withStandby: StageConfig = {
      ...stage,
      standbyRegion: REPLICA,
      sources: stage.sources.map((source, index) =>
        index === 0
          ? source
          : {
              ...source,
              secret: {
                arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:token-refresher/test/payroll-Ab12Cd`,
              },
            },
      ),
    };
    const app = new App();
    const standby = new TokenRefresherStack(app, regionalStackName('regions', REPLICA), {
      stage: withStandby,
      standby: true,
      env: { account: ACCOUNT, region: REPLICA },
    });
    const template = Template.fromStack(standby);
    const nested = nestedTemplates(standby);
    const schedules = resourcesIn(nested, 'AWS::Scheduler::Schedule');
    assert.equal(schedules.length, 2);
    for (const [, schedule] of schedules) assert.equal((schedule.Properties as Json).State, 'DISABLED');
    assert.deepEqual(resourcesIn(nested, 'Custom::TokenRefresherFirstRefresh'), []);
    for (const [, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
      const variables = ((fn.Properties as Json).Environment as { Variables: Record<string, string> })
        .Variables;
      assert.equal(variables.REFRESHER_REGION_ROLE, 'standby');
      assert.equal(variables.REFRESHER_REPLICA_REGIONS, JSON.stringify([REGION]));
    }
    const text = JSON.stringify(template.toJSON());
    assert.match(
      text,
      new RegExp(`secretsmanager:${REPLICA}:${ACCOUNT}:secret:token-refresher/test/payroll-Ab12Cd`),
      "the ARN secret's replica",
    );
    assert.doesNotMatch(text, new RegExp(`secretsmanager:${REGION}:`), 'nothing of the home secrets');
    const stale = resourcesIn([template, ...nested], 'AWS::CloudWatch::Alarm').filter(([, alarm]) =>
      /SecondsRemaining$/.test(String((alarm.Properties as Json).MetricName)),
    );
    assert.ok(stale.length >= 3);
    for (const [, alarm] of stale) {
      // Silence breaches, but pages no one until npm run failover turns the actions on.
      assert.equal((alarm.Properties as Json).TreatMissingData, 'breaching');
      assert.equal((alarm.Properties as Json).ActionsEnabled, false);
    }
  });

  it('a placeholder secret created at home is replicated to the standby region', () => {
    const { stack, template } = homeTemplate({
      ...stage,
      standbyRegion: REPLICA,
      sources: [{ ...(stage.sources[0] as StageConfig['sources'][number]), secret: { create: true } }],
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { ReplicaRegions: [{ Region: REPLICA }] });
    // Its staleness alarm says it is a placeholder's, so npm run failover leaves it silent.
    const alarms = resourcesIn(nestedTemplates(stack), 'AWS::CloudWatch::Alarm');
    assert.ok(alarms.length > 0);
    for (const [, alarm] of alarms) {
      assert.ok(String((alarm.Properties as Json).AlarmDescription).includes(PLACEHOLDER_NOTE));
      assert.equal((alarm.Properties as Json).ActionsEnabled, false);
    }
  });

  it('refuses, at synth, what cannot work, saying what to change', () => {
    const cases: [Partial<StageConfig>, RegExp][] = [
      [{ region: undefined }, /field "region": is required with replicaRegions/],
      [{ replicaRegions: [REGION] }, /names the home region eu-west-1/],
      [{ replicaRegions: [REPLICA, REPLICA] }, /names us-east-1 twice/],
      [{ standbyRegion: 'ap-south-1' }, /ap-south-1 is not one of replicaRegions/],
      [{ replicaRegions: ['mars-1'] }, /must be a region such as eu-west-1/],
    ];
    for (const [change, message] of cases)
      assert.throws(() => homeTemplate({ ...stage, ...change }), message);
  });

  it('IAM: each provider writes only its own tokens in a replica region, encrypts only with that region’s key of this deployment, via SSM there', async () => {
    const { template } = homeTemplate();
    const policies = rolePolicies(template);
    // KMS also needs the key's own policy: the replica stack's key, which delegates to IAM.
    const replicaTemplate = Template.fromStack(
      new TokenRefresherReplicaStack(testApp(), regionalStackName('regions', REPLICA), {
        stage,
        env: { account: ACCOUNT, region: REPLICA },
      }),
    );
    const [, keyResource] = resourcesOf(replicaTemplate, 'AWS::KMS::Key')[0] as [string, Json];
    const keyPolicy = resolveIntrinsics(
      (keyResource.Properties as Json).KeyPolicy,
      replicaTemplate,
    ) as PolicyDocument;
    const roleOf = (provider: string) => {
      const id = [...policies.keys()].find((key) => key.startsWith(`Refresher${provider}RefresherRole`));
      assert.ok(id, provider);
      return { arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/${id}`, policies: policies.get(id) ?? [] };
    };
    const paypackToken = ssmArn(REPLICA, `${PREFIX}/tokens/paypack/cash-in`);
    const papayaToken = ssmArn(REPLICA, `${PREFIX}/tokens/papaya/payroll`);
    const privateState = ssmArn(REPLICA, `${PREFIX}/private/paypack/cash-in/refresh-token`);
    const viaSsm = (region: string, parameter: string) => ({
      'kms:ViaService': `ssm.${region}.amazonaws.com`,
      'kms:EncryptionContext:PARAMETER_ARN': parameter,
    });
    const cells: [string, string, string, Record<string, string>, 'Allowed' | 'denied'][] = [
      ['ssm:PutParameter', paypackToken, 'own token in the replica', {}, 'Allowed'],
      ['ssm:GetParameter', paypackToken, 'own token in the replica (catch-up)', {}, 'Allowed'],
      ['ssm:PutParameter', papayaToken, "the other provider's token", {}, 'denied'],
      ['ssm:PutParameter', privateState, 'private state in the replica', {}, 'denied'],
      ['ssm:GetParameter', privateState, 'private state in the replica', {}, 'denied'],
      [
        'ssm:PutParameter',
        ssmArn('ap-south-1', `${PREFIX}/tokens/paypack/cash-in`),
        'a region not configured',
        {},
        'denied',
      ],
      ['ssm:GetParameter', ssmArn(REPLICA, `${PREFIX}/meta/key-arn`), 'the replica key ARN', {}, 'Allowed'],
      ['ssm:PutParameter', ssmArn(REPLICA, `${PREFIX}/meta/key-arn`), 'the replica key ARN', {}, 'denied'],
      [
        'ssm:GetParameter',
        ssmArn(REPLICA, `${PREFIX}/meta/active-region`),
        'the replica marker',
        {},
        'Allowed',
      ],
      [
        'ssm:PutParameter',
        ssmArn(REPLICA, `${PREFIX}/meta/active-region`),
        'the replica marker (copied by the active region)',
        {},
        'Allowed',
      ],
      ['ssm:GetParameter', ssmArn(REGION, `${PREFIX}/meta/active-region`), 'the home marker', {}, 'Allowed'],
      ['ssm:PutParameter', ssmArn(REGION, `${PREFIX}/meta/active-region`), 'the home marker', {}, 'denied'],
      [
        'kms:Encrypt',
        replicaKey,
        'own token, tagged key, via SSM there',
        { ...viaSsm(REPLICA, paypackToken), ...tagged },
        'Allowed',
      ],
      [
        'kms:Decrypt',
        replicaKey,
        'own token, tagged key, via SSM there',
        { ...viaSsm(REPLICA, paypackToken), ...tagged },
        'Allowed',
      ],
      ['kms:Encrypt', replicaKey, 'a key without the tag', viaSsm(REPLICA, paypackToken), 'denied'],
      [
        'kms:Encrypt',
        replicaKey,
        "another deployment's key",
        { ...viaSsm(REPLICA, paypackToken), 'aws:ResourceTag/token-refresher:parameter-prefix': '/other' },
        'denied',
      ],
      [
        'kms:Encrypt',
        replicaKey,
        'via SSM of another region',
        { ...viaSsm(REGION, paypackToken), ...tagged },
        'denied',
      ],
      [
        'kms:Decrypt',
        replicaKey,
        'outside SSM',
        { 'kms:EncryptionContext:PARAMETER_ARN': paypackToken, ...tagged },
        'denied',
      ],
      [
        'kms:Encrypt',
        replicaKey,
        "the other provider's token",
        { ...viaSsm(REPLICA, papayaToken), ...tagged },
        'denied',
      ],
      ['kms:Encrypt', replicaKey, 'private state', { ...viaSsm(REPLICA, privateState), ...tagged }, 'denied'],
    ];
    const paypack = roleOf('Paypack');
    const wrong: string[] = [];
    for (const [action, resource, what, context, expected] of cells) {
      const decision = await simulate(
        paypack.arn,
        paypack.policies,
        { action, resource, context },
        resource.startsWith('arn:aws:kms') ? keyPolicy : undefined,
      );
      if ((decision === 'Allowed') !== (expected === 'Allowed'))
        wrong.push(`${action} ${what}: ${decision}, expected ${expected}`);
    }
    const papaya = roleOf('Papaya');
    for (const [action, resource, context] of [
      ['ssm:PutParameter', paypackToken, {}],
      ['kms:Encrypt', replicaKey, { ...viaSsm(REPLICA, paypackToken), ...tagged }],
    ] as const) {
      const decision = await simulate(
        papaya.arn,
        papaya.policies,
        { action, resource, context },
        resource.startsWith('arn:aws:kms') ? keyPolicy : undefined,
      );
      if (decision === 'Allowed') wrong.push(`papaya role ${action} on the paypack token: Allowed`);
    }
    assert.deepEqual(wrong, []);
  });
});
