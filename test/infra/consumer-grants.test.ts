import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { TokenRefresher } from '../../infra/token-refresher.ts';
import { TokenRefresherStack } from '../../infra/token-refresher-stack.ts';
import { baseStage, type Json, resourcesOf, testApp } from './helpers.ts';

const env = { account: '123456789012', region: 'eu-west-1' };

function consumerStatements(template: Template): Json[] {
  return resourcesOf(template, 'AWS::IAM::Policy').flatMap(
    ([, policy]) => ((policy.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement,
  );
}

/** A refresher stack and a consumer stack in one app, the consumer's role granted one source. */
function twoStacks() {
  const app = testApp();
  const refresherStack = new TokenRefresherStack(app, 'TokenRefresher-test', { stage: baseStage, env });
  const consumerStack = new Stack(app, 'Payments', { env });
  const role = new iam.Role(consumerStack, 'PaymentsRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  return { app, refresherStack, consumerStack, role };
}

describe('reading a token from another stack or CDK app', () => {
  it('the refresher publishes its key ARN as <prefix>/meta/key-arn (a String parameter, not an export)', () => {
    const { refresherStack } = twoStacks();
    const template = Template.fromStack(refresherStack);
    const published = resourcesOf(template, 'AWS::SSM::Parameter').map(([, resource]) => resource.Properties);
    assert.equal(published.length, 1);
    const [parameter] = published as Json[];
    assert.equal(parameter?.Name, '/token-refresher/test/meta/key-arn');
    assert.equal(parameter?.Type, 'String');
    const keyId = resourcesOf(template, 'AWS::KMS::Key').find(([id]) => id.includes('ParameterKey'))?.[0];
    assert.deepEqual(parameter?.Value, { 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('grantRead to a role in another stack of the app creates no export: the key ARN is read from SSM at deploy', () => {
    const { refresherStack, consumerStack, role } = twoStacks();
    // A deprecated CDK call would print a warning at every consumer's synth: make it an error here.
    const mode = process.env.JSII_DEPRECATED;
    process.env.JSII_DEPRECATED = 'fail';
    try {
      refresherStack.refresher.grantRead(role, 'cash-in');
    } finally {
      if (mode === undefined) delete process.env.JSII_DEPRECATED;
      else process.env.JSII_DEPRECATED = mode;
    }
    const consumer = Template.fromStack(consumerStack).toJSON();
    const refresher = Template.fromStack(refresherStack).toJSON();
    assert.doesNotMatch(JSON.stringify(consumer), /Fn::ImportValue/);
    assert.doesNotMatch(JSON.stringify(refresher.Outputs ?? {}), /Export/);

    const statements = consumerStatements(Template.fromStack(consumerStack));
    const decrypt = statements.find((statement) => statement.Action === 'kms:Decrypt');
    assert.ok(decrypt);
    const keyRef = (decrypt.Resource as { Ref?: string }).Ref ?? '';
    assert.deepEqual(consumer.Parameters[keyRef], {
      Type: 'AWS::SSM::Parameter::Value<String>',
      Default: '/token-refresher/test/meta/key-arn',
    });
    assert.ok(
      consumerStack.dependencies.includes(refresherStack),
      'deploys after the stack that creates the parameter',
    );
  });

  it('fromParameterPrefix names the same parameter and grants the same statements as the in-app grant', () => {
    const { refresherStack, consumerStack, role } = twoStacks();
    refresherStack.refresher.grantRead(role, 'cash-in');
    const inApp = consumerStatements(Template.fromStack(consumerStack));

    const other = testApp();
    const otherStack = new Stack(other, 'Payments', { env });
    const otherRole = new iam.Role(otherStack, 'PaymentsRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    const reference = TokenRefresher.fromParameterPrefix(otherStack, 'Tokens', '/token-refresher/test');
    assert.equal(
      reference.parameterName('paypack', 'cash-in'),
      refresherStack.refresher.parameterName('cash-in'),
    );
    reference.grantRead(otherRole, 'paypack', 'cash-in');
    const fromOtherApp = consumerStatements(Template.fromStack(otherStack));
    assert.deepEqual(fromOtherApp, inApp);
    assert.doesNotMatch(JSON.stringify(Template.fromStack(otherStack).toJSON()), /Fn::ImportValue/);
  });

  it('says what is wrong with a prefix, provider or source id', () => {
    const stack = new Stack(testApp(), 'Payments', { env });
    assert.throws(
      () => TokenRefresher.fromParameterPrefix(stack, 'Bad', '/token-refresher/prod/'),
      /TokenRefresher.fromParameterPrefix: parameterPrefix "\/token-refresher\/prod\/" must look like \/token-refresher\/prod \(no trailing slash\)/,
    );
    const reference = TokenRefresher.fromParameterPrefix(stack, 'Tokens', '/token-refresher/prod');
    assert.throws(
      // @ts-expect-error: a provider this package does not know, as a JavaScript caller could pass
      () => reference.parameterName('paypal', 'cash-in'),
      /provider "paypal" is unknown \(use one of: paypack, papaya/,
    );
    assert.throws(
      () => reference.parameterName('paypack', '../cash-in'),
      /source id "..\/cash-in" must be 1-64 letters, digits/,
    );
  });
});
