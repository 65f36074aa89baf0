import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { type Json, nestedTemplates, resourcesIn, synthStage } from '../infra/helpers.ts';
import { readParameter } from '../support/aws.ts';
import { World } from '../support/world.ts';

/** The secretId the synthesized schedule hands the handler for a source whose secret is imported by name. */
function secretIdFromSchedule(sourceId: string, secretName: string): string {
  const { stack } = synthStage({
    name: 'prodlike',
    alarmEmail: 'oncall@acme.internal',
    sources: [{ id: sourceId, provider: 'paypack', environment: 'production', secret: { name: secretName } }],
  });
  const [, schedule] = resourcesIn(nestedTemplates(stack), 'AWS::Scheduler::Schedule')[0] ?? [];
  assert.ok(schedule);
  const input = ((schedule.Properties as Json).Target as Json).Input as { 'Fn::Join': [string, unknown[]] };
  const text = input['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  return (JSON.parse(text) as { sources: { secretId: string }[] }).sources[0]?.secretId ?? '';
}

/**
 * moto finds a secret by its partial ARN too, unlike Secrets Manager, which
 * takes `…/paypack-cashin` for a complete ARN; so the failure itself is shown
 * by the IAM evaluator (test/infra/iam-secrets.test.ts), and this test proves
 * the plain name the construct now passes is read fine.
 */
describe('a secret named like "…/paypack-cashin", through moto', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.stop();
  });

  it('is read by the handler under the plain name the construct hands it', async () => {
    const source = await world.paypackSource({ id: 'paypack-cashin' });
    const { ARN } = await world.aws.secretsManager.send(
      new DescribeSecretCommand({ SecretId: source.secretId }),
    );
    assert.match(
      String(ARN),
      /:secret:token-refresher\/paypack-cashin-[A-Za-z0-9]{6}$/,
      'moto adds the suffix',
    );

    const secretId = secretIdFromSchedule(source.id, source.secretId);
    assert.equal(secretId, 'token-refresher/paypack-cashin');
    const result = await world.handler()({ sources: [{ ...source, secretId }] });

    assert.equal(result.outcomes[0]?.status, 'refreshed');
    assert.ok(await readParameter(world.aws.ssm, source.parameterName), 'the token is published');
  });
});
