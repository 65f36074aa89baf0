import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AwsSolutionsChecks } from 'cdk-nag';
import { baseStage, type Json, nestedTemplates, resourcesIn, synthStage } from './helpers.ts';

const BOUNDARY = 'arn:aws:iam::123456789012:policy/landing-zone-boundary';
const TAGS = { CostCenter: 'cc-4242', Owner: 'platform-team' };

/** Resource types of the stage that CloudFormation tags (every one must carry the landing-zone tags). */
const TAGGABLE = [
  'AWS::Lambda::Function',
  'AWS::IAM::Role',
  'AWS::KMS::Key',
  'AWS::SNS::Topic',
  'AWS::SQS::Queue',
  'AWS::DynamoDB::Table',
  'AWS::Logs::LogGroup',
  'AWS::CloudFormation::Stack',
  'AWS::SecretsManager::Secret',
];

describe('landing-zone hooks', () => {
  const { stack, template } = synthStage({
    ...baseStage,
    sources: [
      ...baseStage.sources,
      { ...baseStage.sources[0], id: 'placeholder', secret: { create: true } },
    ] as typeof baseStage.sources,
    exampleConsumerSourceId: 'cash-in',
    landingZone: {
      permissionsBoundaryArn: BOUNDARY,
      rolePath: '/workloads/token-refresher/',
      tags: TAGS,
      qualifier: 'lz42',
    },
  });
  const templates = [template, ...nestedTemplates(stack)];

  it('puts the permissions boundary and the role path on every role, those aws-cdk-lib creates included', () => {
    const roles = resourcesIn(templates, 'AWS::IAM::Role');
    assert.ok(roles.length >= 6, `refresher, scheduler, custom-resource and consumer roles: ${roles.length}`);
    for (const [id, role] of roles) {
      const properties = role.Properties as Json;
      assert.equal(properties.PermissionsBoundary, BOUNDARY, `${id} has the boundary`);
      assert.equal(properties.Path, '/workloads/token-refresher/', `${id} has the path`);
    }
  });

  it('tags every taggable resource, in the stack and its nested stacks', () => {
    let tagged = 0;
    for (const type of TAGGABLE) {
      for (const [id, resource] of resourcesIn(templates, type)) {
        const tags = ((resource.Properties as Json).Tags ?? []) as { Key: string; Value: string }[];
        for (const [key, value] of Object.entries(TAGS)) {
          assert.ok(
            tags.some((tag) => tag.Key === key && tag.Value === value),
            `${type} ${id} carries ${key}=${value}`,
          );
        }
        tagged += 1;
      }
    }
    assert.ok(tagged >= 20, `${tagged} resources checked`);
  });

  it('uses the bootstrap qualifier of the target account', () => {
    const parameters = template.toJSON().Parameters as Json;
    assert.equal((parameters.BootstrapVersion as Json).Default, '/cdk-bootstrap/lz42/version');
  });

  it('passes cdk-nag with nothing unacknowledged', () => {
    assert.deepEqual(new AwsSolutionsChecks().validateScope(stack).violations, []);
  });

  it('rejects a malformed landing zone at synth, naming the field', () => {
    assert.throws(
      () => synthStage({ ...baseStage, landingZone: { rolePath: 'workloads', qualifier: 'Has-Caps' } }),
      /stage "test", field "landingZone.rolePath": must start and end with "\/", such as \/workloads\/token-refresher\/\n.*field "landingZone.qualifier": must be 1-10 lowercase letters or digits/,
    );
  });
});
