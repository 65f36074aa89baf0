import { Aspects, DefaultStackSynthesizer, type IAspect, type StackProps, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** What an enterprise landing zone requires of every role and resource (stage config: `landingZone`). */
export interface LandingZoneOptions {
  /** ARN of the permissions boundary put on every IAM role. */
  permissionsBoundaryArn?: string;
  /** Path of every IAM role, such as `/workloads/token-refresher/`. */
  rolePath?: string;
  /** Tags put on every taggable resource, nested stacks included. */
  tags?: Record<string, string>;
}

/** Sets the path of every IAM role in scope, including those aws-cdk-lib creates for us. */
class RolePath implements IAspect {
  readonly #path: string;
  constructor(path: string) {
    this.#path = path;
  }
  visit(node: IConstruct): void {
    if (node instanceof iam.CfnRole) node.path = this.#path;
  }
}

/**
 * Applies the landing zone to every construct under `scope` (roles and resources
 * created by aws-cdk-lib on our behalf included) through aspects and tags, so a
 * construct added later is covered too.
 */
export function applyLandingZone(scope: IConstruct, options: LandingZoneOptions): void {
  if (options.permissionsBoundaryArn) {
    iam.PermissionsBoundary.of(scope).apply(
      iam.ManagedPolicy.fromManagedPolicyArn(scope, 'LandingZoneBoundary', options.permissionsBoundaryArn),
    );
  }
  if (options.rolePath) {
    if (!/^\/([\w+=,.@-]+\/)*$/.test(options.rolePath)) {
      throw new Error(`landing zone: rolePath "${options.rolePath}" must start and end with "/"`);
    }
    Aspects.of(scope).add(new RolePath(options.rolePath));
  }
  for (const [key, value] of Object.entries(options.tags ?? {})) Tags.of(scope).add(key, value);
}

/**
 * A stage stack's props with the account's bootstrap (cdk bootstrap --qualifier), whose roles and
 * asset buckets carry the qualifier, unless the caller chose a synthesizer.
 */
export function withBootstrapQualifier<P extends StackProps>(props: P, qualifier: string | undefined): P {
  if (!qualifier || props.synthesizer) return props;
  return { ...props, synthesizer: new DefaultStackSynthesizer({ qualifier }) };
}
