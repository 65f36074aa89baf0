import { Stack, Tags, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { activeRegionParameterName, replicaKeyParameterName } from '../lambda/refresh/regions.ts';
import { acknowledgeWildcardResources } from './nag.ts';

/**
 * The tag that marks a deployment's parameter key in every region: the key ARN of
 * another region is not known at synth (it is read at run time from that region's
 * `<prefix>/meta/key-arn`), so the grant names the key by this tag instead.
 */
export const PARAMETER_KEY_TAG = 'token-refresher:parameter-prefix';

export function tagParameterKey(key: kms.IKey, parameterPrefix: string): void {
  Tags.of(key).add(PARAMETER_KEY_TAG, parameterPrefix);
}

export interface RegionPermissionsProps {
  provider: string;
  parameterPrefix: string;
  replicaRegions: readonly string[];
}

/**
 * What a provider's function needs in the other regions of its deployment:
 * read every region's active-region marker (its own too) and write the others'
 * (the active region copies its own), read each replica's key ARN; read and
 * write its own provider's token parameters there, never private
 * state; and encrypt them only with that region's key of this deployment (by
 * tag), only through SSM there, only for those parameters.
 */
export function grantRegionPermissions(role: iam.Role, props: RegionPermissionsProps): void {
  const stack = Stack.of(role);
  const ssmArn = (region: string, name: string) =>
    stack.formatArn({ service: 'ssm', region, resource: 'parameter', resourceName: name.replace(/^\//, '') });
  const markerArns = [stack.region, ...props.replicaRegions].map((region) =>
    ssmArn(region, activeRegionParameterName(props.parameterPrefix)),
  );
  const keyArnParameters = props.replicaRegions.map((region) =>
    ssmArn(region, replicaKeyParameterName(props.parameterPrefix)),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadActiveRegionMarkersAndReplicaKeyArns',
      actions: ['ssm:GetParameter'],
      resources: [...markerArns, ...keyArnParameters],
    }),
  );
  // The active region copies its marker to a region that holds an older one (never its own region's:
  // only npm run failover writes that).
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'CopyActiveRegionMarkerToOtherRegions',
      actions: ['ssm:PutParameter'],
      resources: markerArns.slice(1),
    }),
  );
  const tokenArns = props.replicaRegions.map((region) =>
    ssmArn(region, `${props.parameterPrefix}/tokens/${props.provider}/*`),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadAndPublishOwnProviderTokensInReplicaRegions',
      actions: ['ssm:GetParameter', 'ssm:PutParameter'],
      resources: tokenArns,
    }),
  );
  const keyArns: string[] = [];
  props.replicaRegions.forEach((region, index) => {
    const anyKeyThere = stack.formatArn({ service: 'kms', region, resource: 'key', resourceName: '*' });
    keyArns.push(anyKeyThere);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: `EncryptOwnProviderTokensInReplicaRegion${index + 1}`,
        actions: ['kms:Encrypt', 'kms:Decrypt'],
        resources: [anyKeyThere],
        conditions: {
          StringEquals: {
            'kms:ViaService': `ssm.${region}.amazonaws.com`,
            [`aws:ResourceTag/${PARAMETER_KEY_TAG}`]: props.parameterPrefix,
          },
          StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': [tokenArns[index] as string] },
        },
      }),
    );
  });
  acknowledgeWildcardResources(
    role,
    [...tokenArns, ...keyArns],
    "This provider's token parameters in the deployment's replica regions, and that region's key of this deployment, which is known only by its tag at synth (its ARN is read at run time from <prefix>/meta/key-arn there).",
  );
}

/** Replica regions must be real, distinct region names other than the stack's own, which must be known. */
export function checkReplicaRegions(scope: Construct, regions: string[], standby: boolean): string[] {
  if (standby && regions.length === 0) {
    throw new Error(
      'TokenRefresher: a standby needs "replicaRegions" (at least the home region, to copy its tokens back)',
    );
  }
  if (regions.length === 0) return [];
  const own = Stack.of(scope).region;
  if (Token.isUnresolved(own)) {
    throw new Error(
      'TokenRefresher: "replicaRegions" needs a stack with an explicit region (env: { region }), so the grants can tell the regions apart',
    );
  }
  for (const region of regions) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
      throw new Error(`TokenRefresher: replica region "${region}" is not a region name such as eu-west-1`);
    if (region === own)
      throw new Error(`TokenRefresher: "replicaRegions" names the stack's own region ${own}`);
  }
  if (new Set(regions).size !== regions.length)
    throw new Error('TokenRefresher: "replicaRegions" names a region twice');
  return regions;
}
