import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { Template } from 'aws-cdk-lib/assertions';

/** The fixed environment every synthesized ARN is resolved in. */
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const PARTITION = 'aws';

type Json = Record<string, unknown>;
export type PolicyDocument = { Version?: string; Statement: Json[] };

/** What `Fn::GetAtt <resource>.Arn` (or `Ref`, for types whose Ref is an ARN) stands for, by resource type. */
const ARN_OF: Record<string, (logicalId: string) => string> = {
  'AWS::KMS::Key': (id) => `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${id}`,
  'AWS::DynamoDB::Table': (id) => `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${id}`,
  'AWS::Logs::LogGroup': (id) => `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`,
  'AWS::SQS::Queue': (id) => `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${id}`,
  'AWS::SNS::Topic': (id) => `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${id}`,
  'AWS::Lambda::Function': (id) => `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${id}`,
  'AWS::IAM::Role': (id) => `arn:${PARTITION}:iam::${ACCOUNT}:role/${id}`,
  // A secret created by the stack: its complete ARN, with the suffix Secrets Manager would add.
  'AWS::SecretsManager::Secret': (id) =>
    `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`,
};
const REF_IS_ARN = new Set(['AWS::SecretsManager::Secret', 'AWS::SNS::Topic']);
const PSEUDO: Record<string, string> = {
  'AWS::Partition': PARTITION,
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * Resolves the intrinsic functions CDK puts in policy documents (Fn::Join, Ref,
 * Fn::GetAtt …Arn) to concrete values in the fixed account, region and
 * partition. Anything else is left as an unmatched placeholder, so it can only
 * narrow what a policy allows, never widen it.
 */
export function resolveIntrinsics(value: unknown, template: Template): unknown {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Json }>;
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const object = node as Json;
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map((part) => String(resolve(part))).join(separator);
    }
    if ('Ref' in object) {
      const name = String(object.Ref);
      if (name in PSEUDO) return PSEUDO[name];
      const type = resources[name]?.Type ?? '';
      if (REF_IS_ARN.has(type)) return ARN_OF[type]?.(name);
      // Ref of a table, key, role, … is its name or id: the logical id stands for it.
      return name;
    }
    if ('Fn::GetAtt' in object) {
      const [name, attribute] = object['Fn::GetAtt'] as [string, string];
      const type = resources[name]?.Type ?? '';
      if (attribute === 'Arn') return ARN_OF[type]?.(name) ?? `unresolved:${name}.Arn`;
      return `unresolved:${name}.${attribute}`;
    }
    return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, resolve(inner)]));
  };
  return resolve(value);
}

/** Every inline policy attached to a role, keyed by the role's logical id, resolved to concrete ARNs. */
export function rolePolicies(template: Template): Map<string, PolicyDocument[]> {
  const byRole = new Map<string, PolicyDocument[]>();
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const document = resolveIntrinsics(resource.Properties.PolicyDocument, template) as PolicyDocument;
    for (const role of resource.Properties.Roles as { Ref: string }[]) {
      byRole.set(role.Ref, [...(byRole.get(role.Ref) ?? []), document]);
    }
  }
  return byRole;
}

/**
 * iam-simulate drops `kms:EncryptionContext:<key>` from the request context
 * (it recognises variable context keys only in the `prefix/<variable>` form), so
 * a condition on it could never match. Both the policies and the request carry
 * it under `aws:RequestTag/<key>` instead: a single-valued String key the
 * simulator keeps, evaluated by the same operators (StringLike, StringEquals,
 * their IfExists forms, a missing key failing the match) exactly as the KMS key
 * would be. No policy of this project uses aws:RequestTag (checked before
 * renaming), so the stand-in cannot collide with a real condition.
 */
const ENCRYPTION_CONTEXT = 'kms:EncryptionContext:';
const STAND_IN = 'aws:RequestTag/';

export function renameEncryptionContext<T>(value: T): T {
  const text = JSON.stringify(value);
  if (text.includes(STAND_IN))
    throw new Error(`a policy already uses ${STAND_IN}: the stand-in would collide`);
  return JSON.parse(text.replaceAll(ENCRYPTION_CONTEXT, STAND_IN)) as T;
}

export interface SimulatedRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** One request by `principal`, judged by the real evaluator against its identity policies (and a resource policy). */
export async function simulate(
  principal: string,
  policies: PolicyDocument[],
  request: SimulatedRequest,
  resourcePolicy?: PolicyDocument,
): Promise<Decision> {
  const result = await runSimulation(
    {
      identityPolicies: policies.map((policy, index) => ({
        name: `policy${index}`,
        policy: renameEncryptionContext(policy),
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy: renameEncryptionContext(resourcePolicy) } : {}),
      request: {
        action: request.action,
        principal,
        resource: { accountId: ACCOUNT, resource: request.resource },
        contextVariables: renameEncryptionContext(request.context),
      },
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(`simulation of ${request.action} failed: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult as Decision;
}
