import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StageSource } from '../../infra/config/stage-config.ts';
import { stages } from '../../infra/config/stages.ts';
import { TokenRefresherStack } from '../../infra/token-refresher-stack.ts';
import {
  baseStage,
  type Json,
  nestedTemplates,
  resourcesIn,
  resourcesOf,
  statementsOf,
  synthRegionalStacks,
  synthStage,
  testApp,
} from './helpers.ts';

const cashIn = baseStage.sources[0] as StageSource;

describe('TokenRefresherStack template', () => {
  const { stack: baseStack, template } = synthStage(baseStage);
  const shards = nestedTemplates(baseStack);

  it('runs one function per provider on nodejs24.x, arm64, with explicit memory, timeout and log retention', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function').filter(([, fn]) =>
      String((fn.Properties as Json).Description).startsWith('Refreshes'),
    );
    assert.equal(functions.length, 2);
    for (const [, fn] of functions) {
      const props = fn.Properties as Json;
      assert.equal(props.Runtime, 'nodejs24.x');
      assert.deepEqual(props.Architectures, ['arm64']);
      assert.equal(props.MemorySize, 256);
      assert.equal(props.Timeout, 30);
      assert.ok(props.LoggingConfig, 'writes to its own log group');
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
  });

  it('schedules each source, named after it in the deployment group, with its period, a retry policy and the DLQ', () => {
    const schedules = resourcesIn(shards, 'AWS::Scheduler::Schedule').map(
      ([, schedule]) => schedule.Properties as Json,
    );
    assert.deepEqual(schedules.map((schedule) => [schedule.Name, schedule.ScheduleExpression]).sort(), [
      ['cash-in', 'rate(4 minutes)'],
      ['payroll', 'rate(1 hour)'],
    ]);
    const [, group] = resourcesOf(template, 'AWS::Scheduler::ScheduleGroup')[0] ?? [];
    assert.ok(group);
    assert.match(String((group.Properties as Json).Name), /^TokenRefreshertest-Refresher-[A-F0-9]{8}$/);
    template.hasOutput('ScheduleGroupName', {});
    template.hasOutput('LockTableName', {});
    for (const schedule of schedules) {
      const target = schedule.Target as Json;
      assert.deepEqual(schedule.FlexibleTimeWindow, { Mode: 'OFF' });
      assert.equal((target.RetryPolicy as Json).MaximumRetryAttempts, 2);
      assert.match(JSON.stringify((target.DeadLetterConfig as Json).Arn), /DeadLetterQueue/);
      assert.match(
        JSON.stringify(target.Input),
        /\\"sources\\":\[\{\\"id\\":\\"(cash-in|payroll)\\"/,
        'the input carries the source definition',
      );
    }
  });

  it("sends every alarm to the topic: function errors, dead letters, each provider's and each source's staleness", () => {
    const main = resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties as Json);
    const perSource = resourcesIn(shards, 'AWS::CloudWatch::Alarm').map(
      ([, alarm]) => alarm.Properties as Json,
    );
    const [topicId] = resourcesOf(template, 'AWS::SNS::Topic')[0] ?? [];
    assert.equal(main.length, 5, 'DLQ, two function-error and two provider staleness alarms');
    for (const alarm of main) assert.deepEqual(alarm.AlarmActions, [{ Ref: topicId }]);
    for (const alarm of perSource) assert.match(JSON.stringify(alarm.AlarmActions), /AlarmTopic/);
    const describe = (alarm: Json) => [
      (alarm.Dimensions as { Name: string; Value: string }[])
        .map((d) => `${d.Name}=${d.Value}`)
        .sort()
        .join(','),
      alarm.Threshold,
      alarm.TreatMissingData,
    ];
    assert.deepEqual(
      [...main.filter((alarm) => alarm.MetricName === 'TokenSecondsRemaining'), ...perSource]
        .map(describe)
        .sort(),
      [
        ['Provider=papaya,service=token-refresher', 39_600, 'breaching'],
        ['Provider=paypack,service=token-refresher', 360, 'breaching'],
        ['Source=cash-in,service=token-refresher', 360, 'breaching'],
        ['Source=payroll,service=token-refresher', 39_600, 'breaching'],
      ],
    );
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });

  it('encrypts the alarm topic with a key CloudWatch may use (alarms cannot publish under aws/sns)', () => {
    const [topicId, topic] = resourcesOf(template, 'AWS::SNS::Topic')[0] ?? [];
    assert.ok(topicId && topic);
    const keyRef = (topic.Properties as Json).KmsMasterKeyId as { 'Fn::GetAtt'?: [string, string] };
    assert.ok(keyRef['Fn::GetAtt'], `a key of this stack, not an alias: ${JSON.stringify(keyRef)}`);
    const key = template.toJSON().Resources[keyRef['Fn::GetAtt'][0]];
    const statements = key.Properties.KeyPolicy.Statement as Json[];
    const cloudwatch = statements.find((statement) =>
      JSON.stringify(statement.Principal).includes('cloudwatch.amazonaws.com'),
    );
    assert.deepEqual(cloudwatch?.Action, ['kms:GenerateDataKey*', 'kms:Decrypt']);
    assert.deepEqual(cloudwatch?.Condition, { StringEquals: { 'aws:SourceAccount': '123456789012' } });
    assert.equal(key.Properties.EnableKeyRotation, true);
  });

  it('pins the allowed base URLs and the parameter prefix in each function environment', () => {
    const environments = resourcesOf(template, 'AWS::Lambda::Function')
      .map(
        ([, fn]) =>
          ((fn.Properties as Json).Environment as { Variables?: Record<string, string> } | undefined)
            ?.Variables,
      )
      .filter((variables) => variables?.REFRESHER_LOCK_TABLE !== undefined);
    assert.deepEqual(
      environments
        .map((variables) => [variables?.REFRESHER_ALLOWED_BASE_URLS, variables?.REFRESHER_PARAMETER_PREFIX])
        .sort(),
      [
        ['["https://papaya.example/api"]', '/token-refresher/test'],
        ['["https://payments.paypack.rw/api"]', '/token-refresher/test'],
      ],
    );
  });

  it("encrypts parameters with a rotating customer managed key, used only through SSM for the provider's own paths", () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const kms = statementsOf(template).filter((statement) =>
      JSON.stringify(statement.Action).includes('kms:Encrypt'),
    );
    assert.equal(kms.length, 2);
    const paths = kms.map((statement) => {
      const conditions = JSON.stringify(statement.Condition);
      assert.match(conditions, /"kms:ViaService":"ssm.eu-west-1.amazonaws.com"/);
      return [...conditions.matchAll(/parameter\/token-refresher\/test\/([a-z/]+\*)/g)].map((m) => m[1]);
    });
    assert.deepEqual(paths.sort(), [['tokens/papaya/*'], ['tokens/paypack/*', 'private/paypack/*']]);
  });

  it('scopes every IAM statement to named resources', () => {
    for (const statement of statementsOf(template)) {
      const resources = ([] as unknown[]).concat(statement.Resource);
      for (const resource of resources) {
        assert.notEqual(resource, '*', `unscoped statement: ${JSON.stringify(statement)}`);
        const text = JSON.stringify(resource);
        if (text.includes('*')) {
          assert.match(
            text,
            /parameter\/token-refresher\/test\/(tokens|private)\/(paypack|papaya)\/\*|"Arn"\]\},":\*"|secret:token-refresher\/test\/[a-z-]+-\?\?\?\?\?\?|LogGroup/,
            `unexpected wildcard: ${text}`,
          );
        }
      }
    }
    const ssm = statementsOf(template).filter((statement) =>
      JSON.stringify(statement.Action).includes('ssm:PutParameter'),
    );
    assert.equal(ssm.length, 2);
    const secrets = statementsOf(template).filter((statement) =>
      JSON.stringify(statement.Action).includes('secretsmanager:GetSecretValue'),
    );
    assert.deepEqual(
      secrets.map((statement) => JSON.stringify(statement.Resource).match(/secret:([^"]+)/)?.[1]).sort(),
      ['token-refresher/test/cash-in-??????', 'token-refresher/test/payroll-??????'],
      "each function reads only its own sources' secrets",
    );
    const withManagedPolicies = Object.keys(
      template.findResources('AWS::IAM::Role', { Properties: { ManagedPolicyArns: Match.anyValue() } }),
    );
    assert.ok(
      withManagedPolicies.every((id) => id.includes('FirstRefreshProvider')),
      `only the aws-cdk-lib provider framework may use AWSLambdaBasicExecutionRole: ${withManagedPolicies}`,
    );
  });

  it('puts no secret value in the template: secrets are referenced or generated, never given', () => {
    const dev = synthStage(stages.find((stage) => stage.name === 'dev') ?? baseStage).template;
    for (const tpl of [template, dev]) {
      for (const [, secret] of resourcesOf(tpl, 'AWS::SecretsManager::Secret')) {
        const props = secret.Properties as Json;
        assert.equal(props.SecretString, undefined);
        assert.ok(props.GenerateSecretString, 'a placeholder gets a generated value, filled in by the team');
      }
      const variables = resourcesOf(tpl, 'AWS::Lambda::Function').flatMap(([, fn]) =>
        Object.values(
          ((fn.Properties as Json).Environment as { Variables?: Record<string, unknown> } | undefined)
            ?.Variables ?? {},
        ),
      );
      assert.doesNotMatch(JSON.stringify(variables), /client_secret|api_key|clientSecret/);
      assert.doesNotMatch(JSON.stringify(tpl.toJSON()), /"SecretString"|client_secret"\s*:|api_key"\s*:/);
    }
  });

  it('refreshes imported-secret sources at deploy time, and skips placeholder secrets', () => {
    const firstRefresh = resourcesIn(shards, 'Custom::TokenRefresherFirstRefresh');
    assert.equal(firstRefresh.length, 2);
    const devStage = stages.find((stage) => stage.name === 'dev') ?? baseStage;
    const placeholders = devStage.sources.filter((source) => 'create' in source.secret).length;
    assert.ok(placeholders >= 2);
    const devStack = synthStage(devStage);
    const dev = devStack.template;
    assert.equal(
      resourcesIn(nestedTemplates(devStack.stack), 'Custom::TokenRefresherFirstRefresh').length,
      0,
    );
    assert.equal(resourcesOf(dev, 'AWS::SecretsManager::Secret').length, placeholders);
    dev.allResourcesProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.anyValue() });
  });

  it('passes cdk-nag AwsSolutions with nothing unacknowledged, for every configured stage', () => {
    for (const stage of stages) {
      for (const stack of [synthStage(stage).stack, ...synthRegionalStacks(stage)]) {
        const report = new AwsSolutionsChecks().validateScope(stack);
        assert.deepEqual(
          report.violations.map(
            (violation) =>
              `${violation.ruleName}: ${violation.violatingResources.map((r) => r.constructPath)}`,
          ),
          [],
          `stage ${stage.name}, ${stack.stackName}`,
        );
      }
    }
  });

  it('lets cdk-nag see an unacknowledged wildcard (the check is live)', () => {
    const { stack } = synthStage(baseStage);
    const role = new iam.Role(stack, 'Careless', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: ['*'] }));
    const report = new AwsSolutionsChecks().validateScope(stack);
    assert.ok(report.violations.some((violation) => violation.ruleName === 'AwsSolutions-IAM5[Resource::*]'));
  });
});

describe('grantRead', () => {
  it('grants GetParameter on one parameter and Decrypt for it alone, never the private path', () => {
    const { template } = synthStage({ ...baseStage, exampleConsumerSourceId: 'cash-in' });
    const consumerPolicy = resourcesOf(template, 'AWS::IAM::Policy').find(([id]) =>
      id.startsWith('ExampleConsumerRole'),
    );
    assert.ok(consumerPolicy);
    const statements = ((consumerPolicy[1].Properties as Json).PolicyDocument as { Statement: Json[] })
      .Statement;
    const text = JSON.stringify(statements);
    assert.doesNotMatch(text, /private/);
    const ssm = statements.find((statement) => statement.Action === 'ssm:GetParameter');
    assert.match(
      JSON.stringify(ssm?.Resource),
      /parameter\/token-refresher\/test\/tokens\/paypack\/cash-in"/,
    );
    const decrypt = statements.find((statement) => statement.Action === 'kms:Decrypt');
    assert.match(
      JSON.stringify(decrypt?.Condition),
      /"kms:EncryptionContext:PARAMETER_ARN":.*tokens\/paypack\/cash-in"/,
    );
    assert.match(JSON.stringify(decrypt?.Condition), /"kms:ViaService":"ssm.eu-west-1.amazonaws.com"/);
  });

  it('names the unknown source when asked for one it does not have', () => {
    const { stack } = synthStage(baseStage);
    assert.throws(
      () => stack.refresher.grantRead(new iam.AnyPrincipal(), 'nope'),
      /no source "nope" \(sources: cash-in, payroll\)/,
    );
  });
});

describe('synth-time validation says what to change', () => {
  const reject = (stage: typeof baseStage, message: RegExp) =>
    assert.throws(() => new TokenRefresherStack(testApp(), 'Bad', { stage }), message);

  it('rejects a Paypack period too long for its 15-minute token', () => {
    reject(
      {
        ...baseStage,
        sources: [{ ...cashIn, schedule: { periodMinutes: 5, refreshThresholdMinutes: 10 } }],
      },
      /stage "test", source "cash-in", field "schedule.periodMinutes": a 5 min period with a 10 min threshold lets the token expire after one failed run \(needs threshold >= 2 x period \+ 0.5 min run timeout \+ 1 min consumer margin = 11.5 min, and the token lives 15 min\): shorten the period to 4 min or less, or raise the threshold to 12 min/,
    );
  });

  it('rejects a threshold at or above the token lifetime', () => {
    reject(
      {
        ...baseStage,
        sources: [{ ...cashIn, schedule: { periodMinutes: 1, refreshThresholdMinutes: 15 } }],
      },
      /"cash-in", field "schedule.refreshThresholdMinutes": the refresh threshold \(15 min\) must be below the token lifetime \(15 min\)/,
    );
  });

  it('rejects a Papaya source without an endpoint for its environment', () => {
    reject(
      { ...baseStage, endpoints: {} },
      /source "payroll", field "endpoints.papaya.production": is required/,
    );
  });

  it('rejects a bad source id and a duplicate id', () => {
    reject({ ...baseStage, sources: [{ ...cashIn, id: 'has space' }] }, /field "id": must be 1-64 letters/);
    reject(
      { ...baseStage, sources: [cashIn, cashIn] },
      /stage "test": source id "cash-in" is used twice; give each source its own id/,
    );
  });

  it('rejects an http endpoint', () => {
    reject(
      { ...baseStage, endpoints: { papaya: { production: 'http://papaya.example' } } },
      /field "endpoints.papaya.production": must be an https URL/,
    );
  });
});
