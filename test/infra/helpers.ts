import { App, NestedStack, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { TokenRefresherReplicaStack } from '../../infra/token-refresher-replica-stack.ts';
import { regionalStackName, TokenRefresherStack } from '../../infra/token-refresher-stack.ts';

/** Skips esbuild bundling: template tests need the resources, not the code. */
export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/** A stage's home stack, in its own region (eu-west-1 for a stage that names none). */
export function synthStage(stage: StageConfig): { stack: TokenRefresherStack; template: Template } {
  const stack = new TokenRefresherStack(testApp(), `TokenRefresher-${stage.name}`, {
    stage,
    env: { account: '123456789012', region: stage.region ?? 'eu-west-1' },
  });
  return { stack, template: Template.fromStack(stack) };
}

/** A stage's stacks in its replica regions: the standby's, and each replica's. */
export function synthRegionalStacks(stage: StageConfig): Stack[] {
  const app = testApp();
  return (stage.replicaRegions ?? []).map((region) => {
    const env = { account: '123456789012', region };
    const id = regionalStackName(stage.name, region);
    return region === stage.standbyRegion
      ? new TokenRefresherStack(app, id, { stage, standby: true, env })
      : new TokenRefresherReplicaStack(app, id, { stage, env });
  });
}

export const baseStage: StageConfig = {
  name: 'test',
  // Its hosts and address are placeholders (papaya.example, example.com).
  example: true,
  endpoints: { papaya: { production: 'https://papaya.example/api' } },
  alarmEmail: 'oncall@example.com',
  sources: [
    {
      id: 'cash-in',
      provider: 'paypack',
      environment: 'production',
      secret: { name: 'token-refresher/test/cash-in' },
    },
    {
      id: 'payroll',
      provider: 'papaya',
      environment: 'production',
      secret: { name: 'token-refresher/test/payroll' },
    },
  ],
};

export type Json = Record<string, unknown>;

export function resourcesOf(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type)) as [string, Json][];
}

export function statementsOf(template: Template): Json[] {
  const policies = resourcesOf(template, 'AWS::IAM::Policy').map(([, policy]) => policy);
  return policies.flatMap(
    (policy) => ((policy.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement,
  );
}

/** The templates of a stack's nested stacks (the source shards). */
export function nestedTemplates(stack: Stack): Template[] {
  return stack.node
    .findAll()
    .filter((construct): construct is NestedStack => construct instanceof NestedStack)
    .map((nested) => Template.fromStack(nested));
}

export function resourcesIn(templates: Template[], type: string): [string, Json][] {
  return templates.flatMap((template) => resourcesOf(template, type));
}
