import { createRequire } from 'node:module';
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

type FlattenCfnReference = typeof import('cdk-nag/lib/utils/flatten-cfn-reference.js').flattenCfnReference;

/**
 * cdk-nag's own rendering of CloudFormation references, so finding ids match
 * exactly. Loaded on first use: an app that installs this package without
 * cdk-nag (a consumer granting read access, a platform team without nag) runs
 * no nag checks, so there is nothing to acknowledge.
 */
function cdkNagFlatten(): FlattenCfnReference | undefined {
  try {
    return createRequire(import.meta.url)('cdk-nag/lib/utils/flatten-cfn-reference.js').flattenCfnReference;
  } catch (error) {
    if ((error as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * Acknowledges AwsSolutions-IAM5 for exactly these wildcard resources (not for
 * the rule as a whole), so any other wildcard still fails the synth.
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: string[], reason: string): void {
  const flattenCfnReference = cdkNagFlatten();
  if (!flattenCfnReference) return;
  const stack = Stack.of(scope);
  Validations.of(scope).acknowledge(
    ...resources.map((resource) => ({
      id: `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(resource))}]`,
      reason,
    })),
  );
}

export function acknowledgeManagedPolicy(scope: IConstruct, policyName: string, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policyName}]`,
    reason,
  });
}
