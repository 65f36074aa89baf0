import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config/stage-config.ts';
import { validateStage } from './config/validate-stage.ts';
import { applyLandingZone, withBootstrapQualifier } from './landing-zone.ts';
import { TokenRefresherReplica } from './token-refresher-replica.ts';

export interface TokenRefresherReplicaStackProps extends StackProps {
  stage: StageConfig;
}

/** One replica region of a stage (StageConfig.replicaRegions) that holds no standby. */
export class TokenRefresherReplicaStack extends Stack {
  readonly replica: TokenRefresherReplica;

  constructor(scope: Construct, id: string, props: TokenRefresherReplicaStackProps) {
    const stage = validateStage(props.stage);
    super(scope, id, withBootstrapQualifier(props, stage.landingZone?.qualifier));
    if (stage.landingZone) applyLandingZone(this, stage.landingZone);
    this.replica = new TokenRefresherReplica(this, 'Replica', {
      parameterPrefix: stage.parameterPrefix ?? `/token-refresher/${stage.name}`,
    });
  }
}
