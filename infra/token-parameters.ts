import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * Where a deployment keeps what consumers read, in one place for the construct
 * and for other CDK apps that reach a deployed refresher by its prefix
 * (`TokenRefresher.fromParameterPrefix`), so both always agree on the paths.
 */

/** The published token of one source: `<prefix>/tokens/<provider>/<sourceId>`, the layout the handler enforces. */
export { tokenParameterName } from '../lambda/config/parameter-names.ts';

/** A String parameter holding the ARN of the key that encrypts the deployment's SecureStrings. */
export function keyArnParameterName(prefix: string): string {
  return `${prefix}/meta/key-arn`;
}

export function parameterArn(scope: Construct, name: string): string {
  return Stack.of(scope).formatArn({
    service: 'ssm',
    resource: 'parameter',
    resourceName: name.replace(/^\//, ''),
  });
}

export function validatePrefix(prefix: string, who = 'TokenRefresher'): string {
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(prefix)) {
    throw new Error(
      `${who}: parameterPrefix "${prefix}" must look like /token-refresher/prod (no trailing slash)`,
    );
  }
  return prefix;
}

export const SOURCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The least privilege to read one published token: GetParameter on that
 * parameter, and Decrypt only when SSM asks on behalf of that parameter.
 */
export function grantTokenParameterRead(
  grantee: iam.IGrantable,
  read: { parameterArn: string; keyArn: string; region: string },
): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: ['ssm:GetParameter'],
    resourceArns: [read.parameterArn],
  });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['kms:Decrypt'],
    resourceArns: [read.keyArn],
    conditions: {
      StringEquals: {
        'kms:ViaService': `ssm.${read.region}.amazonaws.com`,
        'kms:EncryptionContext:PARAMETER_ARN': read.parameterArn,
      },
    },
  });
  return grant;
}

/** The stack a grantee's policy lands in, when the principal is a construct (a role, a function's role). */
export function stackOfGrantee(grantee: iam.IGrantable): Stack | undefined {
  const principal = grantee.grantPrincipal as Partial<Construct>;
  return principal.node ? Stack.of(principal as Construct) : undefined;
}
