import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { tagParameterKey } from './region-permissions.ts';
import { keyArnParameterName, validatePrefix } from './token-parameters.ts';

export interface TokenRefresherReplicaProps {
  /** The home deployment's prefix: the same parameter names are used in every region. */
  parameterPrefix: string;
}

/**
 * What a consumer in a replica region needs, and nothing more: a key of the
 * region's own, and `<prefix>/meta/key-arn` naming it. The home functions write
 * the token parameters here (they are not CloudFormation resources, as at home),
 * and consumers read them with `TokenRefresher.fromParameterPrefix`, unchanged.
 */
export class TokenRefresherReplica extends Construct {
  readonly encryptionKey: kms.Key;
  readonly keyArnParameter: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: TokenRefresherReplicaProps) {
    super(scope, id);
    const prefix = validatePrefix(props.parameterPrefix, 'TokenRefresherReplica');
    this.encryptionKey = new kms.Key(this, 'ParameterKey', {
      description: `Encrypts the token-refresher tokens copied to this region (${prefix})`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    tagParameterKey(this.encryptionKey, prefix);
    this.keyArnParameter = new ssm.StringParameter(this, 'KeyArnParameter', {
      parameterName: keyArnParameterName(prefix),
      stringValue: this.encryptionKey.keyArn,
      description: "ARN of the KMS key that encrypts this region's copies of the token-refresher tokens",
    });
  }
}
