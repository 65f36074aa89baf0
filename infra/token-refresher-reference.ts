import { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { providerFactories } from '../lambda/providers/index.ts';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import {
  grantTokenParameterRead,
  keyArnParameterName,
  parameterArn,
  SOURCE_ID_PATTERN,
  stackOfGrantee,
  tokenParameterName,
  validatePrefix,
} from './token-parameters.ts';

/**
 * A refresher deployed by another CDK app (or stack), reached by its parameter
 * prefix. Nothing is exported by the refresher's stack: the key ARN comes from
 * the String parameter `<prefix>/meta/key-arn` it publishes, read by
 * CloudFormation when the consumer's stack deploys. Same account and region as
 * the refresher (SSM parameters are regional and not shared across accounts).
 */
export class TokenRefresherReference extends Construct {
  readonly parameterPrefix: string;

  constructor(scope: Construct, id: string, parameterPrefix: string) {
    super(scope, id);
    this.parameterPrefix = validatePrefix(parameterPrefix, 'TokenRefresher.fromParameterPrefix');
  }

  /** The parameter consumers read for one source of `provider`. */
  parameterName(provider: ProviderName, sourceId: string): string {
    const where = `TokenRefresher.fromParameterPrefix("${this.parameterPrefix}")`;
    if (!Object.hasOwn(providerFactories, provider)) {
      throw new Error(
        `${where}: provider "${provider}" is unknown (use one of: ${Object.keys(providerFactories).join(', ')})`,
      );
    }
    if (!SOURCE_ID_PATTERN.test(sourceId)) {
      throw new Error(
        `${where}: source id "${sourceId}" must be 1-64 letters, digits, "_", "." or "-", starting alphanumeric`,
      );
    }
    return tokenParameterName(this.parameterPrefix, provider, sourceId);
  }

  parameterArn(provider: ProviderName, sourceId: string, scope: Construct = this): string {
    return parameterArn(scope, this.parameterName(provider, sourceId));
  }

  /** The key's ARN as a deploy-time value of `scope`'s stack (a CloudFormation parameter, not an import). */
  encryptionKeyArn(scope: Construct = this): string {
    return ssm.StringParameter.valueForStringParameter(scope, keyArnParameterName(this.parameterPrefix));
  }

  /** Lets `grantee` read one source's token: the same two statements as the refresher's own `grantRead`. */
  grantRead(grantee: iam.IGrantable, provider: ProviderName, sourceId: string): iam.Grant {
    const stack = stackOfGrantee(grantee) ?? Stack.of(this);
    return grantTokenParameterRead(grantee, {
      parameterArn: this.parameterArn(provider, sourceId, stack),
      keyArn: this.encryptionKeyArn(stack),
      region: stack.region,
    });
  }
}
