import {
  Annotations,
  CfnOutput,
  CfnRule,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { joinUrl } from '../lambda/http/url-policy.ts';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import { CONSUMER_EXAMPLE_ENTRY, lambdaBundling } from './bundling.ts';
import type { StageConfig, StageSource } from './config/stage-config.ts';
import { placeholderReport, validateStage } from './config/validate-stage.ts';
import { applyLandingZone, withBootstrapQualifier } from './landing-zone.ts';
import { DEFAULT_BASE_URLS } from './source-validation.ts';
import { checkSecretNames, checkStandby, secretReferenceProblem, stageSecret } from './stage-secrets.ts';
import { TokenRefresher, type TokenRefresherSource } from './token-refresher.ts';

/** Paths of harmless "does this token work" calls, per provider (from the providers' docs). */
const PROBE_PATHS: Partial<Record<ProviderName, string>> = {
  paypack: '/merchants/me',
  papaya: '/payments/wallets?take=1',
};

export interface TokenRefresherStackProps extends StackProps {
  stage: StageConfig;
  /** Deploy the stage's standby (in `stage.standbyRegion`) rather than its home refresher. */
  standby?: boolean;
}

/** The stack of a stage in one of its replica regions (the standby's, or a replica's). */
export function regionalStackName(stageName: string, region: string): string {
  return `TokenRefresher-${stageName}-${region}`;
}

/** One stage of the token refresher, built from its typed configuration. */
export class TokenRefresherStack extends Stack {
  readonly refresher: TokenRefresher;

  constructor(scope: Construct, id: string, props: TokenRefresherStackProps) {
    const stage = validateStage(props.stage);
    super(scope, id, withBootstrapQualifier(props, stage.landingZone?.qualifier));
    // The whole stack, the example consumer included; the construct offers the same for direct use.
    if (stage.landingZone) applyLandingZone(this, stage.landingZone);
    const where = `stage "${stage.name}"`;
    const secretPrefix = stage.secretPrefix ?? `token-refresher/${stage.name}`;
    const ids = stage.sources.map((source) => source.id);
    const repeated = ids.find((sourceId, index) => ids.indexOf(sourceId) !== index);
    if (repeated)
      throw new Error(`${where}: source id "${repeated}" is used twice; give each source its own id`);
    for (const source of stage.sources) {
      const problem = secretReferenceProblem(source.secret);
      if (problem) throw new Error(`${where}, source "${source.id}": ${problem}`);
    }
    if (stage.secretNamePrefix) checkSecretNames(stage, secretPrefix);

    const standby = props.standby === true;
    const secretKeyArn = (source: StageSource) =>
      standby ? source.standbySecretKmsKeyArn : source.secretKmsKeyArn;
    if (standby) checkStandby(stage);
    const sources: TokenRefresherSource[] = stage.sources.map((source) => ({
      id: source.id,
      provider: source.provider,
      baseUrl: baseUrlFor(stage, source),
      secret: stageSecret(this, source, secretPrefix, stage, standby),
      ...(secretKeyArn(source)
        ? {
            secretEncryptionKey: kms.Key.fromKeyArn(
              this,
              `SecretKey-${source.id}`,
              secretKeyArn(source) as string,
            ),
          }
        : {}),
      ...(source.schedule
        ? {
            schedule: {
              period: Duration.minutes(source.schedule.periodMinutes),
              refreshThreshold: Duration.minutes(source.schedule.refreshThresholdMinutes),
            },
          }
        : {}),
      ...(source.options ? { options: source.options } : {}),
      ...(source.resilience ? { resilience: source.resilience } : {}),
      // A placeholder secret holds no credentials until someone puts them there (and says so: filled: true).
      ...('create' in source.secret && !source.secret.filled
        ? { refreshOnDeploy: false, awaitingCredentials: true }
        : {}),
    }));

    const alarmTopic = stage.alarmTopicArn
      ? sns.Topic.fromTopicArn(this, 'AlarmTopic', stage.alarmTopicArn)
      : undefined;
    try {
      this.refresher = new TokenRefresher(this, 'Refresher', {
        sources,
        parameterPrefix: stage.parameterPrefix ?? `/token-refresher/${stage.name}`,
        deploymentName: `token-refresher-${stage.name}`,
        ...(stage.secretNamePrefix ? { secretNamePrefix: stage.secretNamePrefix } : {}),
        ...(stage.perSourceAlarms === undefined ? {} : { perSourceAlarms: stage.perSourceAlarms }),
        ...(stage.resilience ? { resilience: stage.resilience } : {}),
        ...(alarmTopic ? { alarmTopic } : {}),
        ...regionProps(stage, standby),
      });
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message} (edit infra/config/stages.ts)`);
    }
    if (stage.example) this.#refuseDeploy(stage);
    // The ops commands (npm run status / refresh) find the lock table, and each source's last result, here.
    new CfnOutput(this, 'LockTableName', { value: this.refresher.lockTable.tableName });
    new CfnOutput(this, 'ScheduleGroupName', { value: this.refresher.scheduleGroup.scheduleGroupName });
    if (stage.alarmEmail)
      this.refresher.alarmTopic.addSubscription(new subscriptions.EmailSubscription(stage.alarmEmail));

    if (stage.exampleConsumerSourceId && !standby) {
      const source = stage.sources.find((candidate) => candidate.id === stage.exampleConsumerSourceId);
      if (!source) {
        throw new Error(
          `${where}: exampleConsumerSourceId "${stage.exampleConsumerSourceId}" is not one of its sources`,
        );
      }
      this.#exampleConsumer(source, baseUrlFor(stage, source));
    }
  }

  /**
   * An example stage synthesizes, with its placeholders reported, but a CloudFormation rule that can
   * never hold makes every deploy fail before any resource is touched.
   */
  #refuseDeploy(stage: StageConfig): void {
    const placeholders = placeholderReport(stage);
    // Each note names the setting to change (infra/app.ts turns off the stack traces that would
    // point the note at this line instead).
    for (const placeholder of placeholders)
      Annotations.of(this).addInfo(`${placeholder} (set in infra/config/stages.ts)`);
    new CfnRule(this, 'ExampleStageIsNotDeployable', {
      assertions: [
        {
          assert: Fn.conditionEquals('example', 'deployable'),
          assertDescription: `Stage "${stage.name}" is marked example: true in infra/config/stages.ts (${placeholders.length} placeholder(s)); replace the placeholders and remove example: true to deploy it.`,
        },
      ],
    });
  }

  #exampleConsumer(source: StageSource, baseUrl: string): void {
    const probePath = PROBE_PATHS[source.provider];
    if (!probePath) throw new Error(`exampleConsumerSourceId: ${source.provider} has no known probe call`);
    const logGroup = new logs.LogGroup(this, 'ExampleConsumerLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'ExampleConsumerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    const fn = new nodejs.NodejsFunction(this, 'ExampleConsumer', {
      entry: CONSUMER_EXAMPLE_ENTRY,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(10),
      role,
      logGroup,
      description: `Example consumer: reads the ${source.id} token and calls ${source.provider}`,
      environment: {
        TOKEN_PARAMETER_NAME: this.refresher.parameterName(source.id),
        PROVIDER_PROBE_URL: joinUrl(baseUrl, probePath).href,
      },
      bundling: lambdaBundling({ bundleAwsSDK: false }),
    });
    logGroup.grantWrite(role);
    this.refresher.grantRead(fn, source.id);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5',
      reason: "Log stream names inside the function's own log group are not known in advance.",
    });
  }
}

/** The home refresher copies to every replica region; the standby to home and the other replicas. */
function regionProps(stage: StageConfig, standby: boolean): { replicaRegions?: string[]; standby?: boolean } {
  const replicas = stage.replicaRegions ?? [];
  if (!standby) return replicas.length > 0 ? { replicaRegions: replicas } : {};
  return {
    standby: true,
    replicaRegions: [stage.region as string, ...replicas.filter((region) => region !== stage.standbyRegion)],
  };
}

function baseUrlFor(stage: StageConfig, source: StageSource): string {
  const url =
    source.baseUrl ??
    stage.endpoints?.[source.provider]?.[source.environment] ??
    (source.environment === 'production' ? DEFAULT_BASE_URLS[source.provider] : undefined);
  if (!url) {
    throw new Error(
      `stage "${stage.name}", source "${source.id}": no ${source.environment} endpoint for ${source.provider}; set endpoints.${source.provider}.${source.environment} (or the source's baseUrl) in infra/config/stages.ts`,
    );
  }
  return url;
}
