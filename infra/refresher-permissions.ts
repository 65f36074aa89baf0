import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './nag.ts';
import { parameterArn } from './token-parameters.ts';

/**
 * The IAM of one provider's refresher function: its own provider's parameters,
 * its own provider's leases, its own sources' secrets, nothing else. Proven by
 * test/infra/iam-matrix.test.ts against a real policy evaluator.
 */
export interface RefresherPermissionsProps {
  provider: string;
  /** Only providers that keep private state (Paypack's refresh token) get `<prefix>/private/<provider>/*`. */
  usesPrivateState: boolean;
  parameterPrefix: string;
  parameterKey: kms.IKey;
  lockTable: dynamodb.ITable;
}

export function grantRefresherPermissions(role: iam.Role, props: RefresherPermissionsProps): void {
  const stack = Stack.of(role);
  const paths = [`${props.parameterPrefix}/tokens/${props.provider}/*`];
  if (props.usesPrivateState) paths.push(`${props.parameterPrefix}/private/${props.provider}/*`);
  const parameterArns = paths.map((path) => parameterArn(role, path));
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadAndPublishOwnProviderParameters',
      actions: ['ssm:GetParameter', 'ssm:PutParameter'],
      resources: parameterArns,
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'EncryptOwnProviderParametersViaSsm',
      // Standard-tier SecureStrings are encrypted directly with the key: no data keys.
      actions: ['kms:Encrypt', 'kms:Decrypt'],
      resources: [props.parameterKey.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameterArns },
      },
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'OwnProviderLeases',
      // Taking, renewing and releasing a lease are all conditional updates (the item keeps the last result).
      actions: ['dynamodb:UpdateItem'],
      resources: [props.lockTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${props.provider}/*`] } },
    }),
  );
  acknowledgeWildcardResources(
    role,
    parameterArns,
    "Scoped to this provider's paths under the deployment's prefix: a fleet of sources has too many parameters to list within IAM policy size limits.",
  );
}

/** A source's secret as the handler names it and as IAM matches it. */
export interface SecretReference {
  /** What the handler passes to GetSecretValue: a complete ARN, or the plain name. */
  secretId: string;
  /** What IAM evaluates a GetSecretValue against: always the complete ARN (or a pattern matching it). */
  policyResource: string;
}

/**
 * A secret imported by name has no complete ARN at synth time. Its partial ARN
 * (`…:secret:<name>`) is no good to the handler: Secrets Manager takes an ARN
 * ending in a hyphen and 6 characters (`…/paypack-cashin`) as a complete ARN
 * and finds nothing, and IAM checks the request against that same string. The
 * plain name works, in the stack's own account and region, and IAM is then
 * evaluated against the secret's complete ARN, `<name>-` plus 6 characters.
 */
export function secretReference(
  scope: Construct,
  secret: secretsmanager.ISecret,
  where: string,
): SecretReference {
  if (secret.secretFullArn) return { secretId: secret.secretFullArn, policyResource: secret.secretFullArn };
  const stack = Stack.of(scope);
  const elsewhere = (ours: string, theirs: string) =>
    !Token.isUnresolved(ours) && !Token.isUnresolved(theirs) && ours !== theirs;
  if (elsewhere(stack.account, secret.env.account) || elsewhere(stack.region, secret.env.region)) {
    throw new Error(
      `${where}: the secret lives in account ${secret.env.account}, region ${secret.env.region}, and is known only by a partial ARN; import it with Secret.fromSecretCompleteArn (the ARN ending in "-" and the 6 characters Secrets Manager adds)`,
    );
  }
  return {
    secretId: secret.secretName,
    policyResource: stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${secret.secretName}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  };
}

/**
 * GetSecretValue on each source's secret (DescribeSecret is never called), or,
 * for a fleet whose secrets share a per-provider name prefix, one statement for
 * that prefix (hundreds of secret ARNs would overflow IAM's policy size limit).
 */
export function grantSourceSecrets(
  role: iam.Role,
  secrets: { reference: SecretReference; encryptionKey?: kms.IKey | undefined }[],
  namePrefix: string | undefined,
): void {
  grantSecretKeys(role, secrets, namePrefix);
  if (!namePrefix) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadOwnSourceSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...new Set(secrets.map(({ reference }) => reference.policyResource))],
      }),
    );
    return;
  }
  const secretsUnderPrefix = Stack.of(role).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${namePrefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadOwnProviderSecrets',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretsUnderPrefix],
    }),
  );
  acknowledgeWildcardResources(
    role,
    [secretsUnderPrefix],
    "This provider's secrets share a name prefix; a fleet has too many to list within IAM policy size limits.",
  );
}

/**
 * kms:Decrypt on a secret's own customer-managed key, only as Secrets Manager
 * uses it (kms:ViaService) and only for this function's secrets (the SecretARN
 * encryption context Secrets Manager always sends): the role cannot decrypt
 * anything else under that key, directly or through another service.
 */
function grantSecretKeys(
  role: iam.Role,
  secrets: { reference: SecretReference; encryptionKey?: kms.IKey | undefined }[],
  namePrefix: string | undefined,
): void {
  const stack = Stack.of(role);
  const byKey = new Map<kms.IKey, string[]>();
  for (const { reference, encryptionKey } of secrets) {
    if (!encryptionKey) continue;
    const arns = byKey.get(encryptionKey) ?? [];
    arns.push(
      namePrefix
        ? stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${namePrefix}*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          })
        : reference.policyResource,
    );
    byKey.set(encryptionKey, arns);
  }
  for (const [key, secretArns] of byKey) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}` },
          StringLike: { 'kms:EncryptionContext:SecretARN': [...new Set(secretArns)] },
        },
      }),
    );
  }
}

/**
 * Each provider's secret name prefix for a fleet: a string names the common
 * prefix, under which each provider gets `<prefix><provider>/`; a map names each
 * provider's prefix (a fleet of one provider can keep its existing names). No
 * prefix may contain another, or one provider could read the other's secrets.
 */
export function providerSecretPrefixes(
  secretNamePrefix: string | Readonly<Record<string, string | undefined>>,
  providers: string[],
): Map<string, string> {
  const prefixes = new Map<string, string>();
  for (const provider of providers) {
    const prefix =
      typeof secretNamePrefix === 'string' ? `${secretNamePrefix}${provider}/` : secretNamePrefix[provider];
    if (!prefix) {
      throw new Error(
        `TokenRefresher: "secretNamePrefix" names no prefix for provider "${provider}"; add ${provider}: '<prefix>/' to it`,
      );
    }
    prefixes.set(provider, prefix);
  }
  for (const [provider, prefix] of prefixes) {
    for (const [other, otherPrefix] of prefixes) {
      if (other !== provider && otherPrefix.startsWith(prefix)) {
        throw new Error(
          `TokenRefresher: the secret name prefix of ${provider} ("${prefix}") also covers ${other}'s ("${otherPrefix}"); give each provider a prefix of its own, such as "<prefix>/${provider}/"`,
        );
      }
    }
  }
  return prefixes;
}
