import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { stages } from '../../infra/config/stages.ts';
import { defaultSchedule } from '../../infra/default-schedules.ts';
import {
  resolveSource,
  type SourceDefinition,
  tokenParameterName,
} from '../../lambda/config/source-config.ts';
import { createRefreshHandler } from '../../lambda/handlers/create-refresh-handler.ts';
import { providerFactories } from '../../lambda/providers/index.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import { readLocalState, recordForcedRefresh } from '../local/state.ts';
import { OpsError } from './ops-error.ts';

export { OpsError };

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredTokenException',
  'ExpiredToken',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
]);

/** An AWS failure, stated as what was being done and what to do about it (never the SDK's message). */
export function awsProblem(error: unknown, doing: string, permission: string): OpsError {
  const name = (error as Error).name || 'Error';
  if (CREDENTIAL_ERRORS.has(name)) {
    return new OpsError(
      `cannot ${doing}: no valid AWS credentials (${name}); set AWS_PROFILE or run \`aws sso login\``,
    );
  }
  if (/AccessDenied/.test(name)) {
    return new OpsError(`cannot ${doing}: your credentials lack ${permission} (${name})`);
  }
  return new OpsError(`cannot ${doing}: ${name}; check AWS_REGION, credentials and network, then retry`);
}

export interface OpsSource {
  id: string;
  provider: string;
  parameterName: string;
  refreshThresholdSeconds: number;
}

/** Where the ops commands work: a running `npm start`, or a deployed stage. */
export interface OpsTarget {
  description: string;
  ssm: SSMClient;
  dynamodb: DynamoDBClient;
  lockTable: string | undefined;
  sources: OpsSource[];
  /** Now, in the view's clock (simulated in local mode). */
  now: () => number;
  /** Seconds since a wall-clock instant (the lock table's lastRunAt), in the view's clock. */
  elapsedSeconds: (sinceWallMs: number) => number;
  refresh(sourceId: string): Promise<SourceOutcome>;
  /** The stage's replica regions, where each token has a copy (docs/regions.md). */
  replicas?: { region: string; ssm: SSMClient }[];
  /** `<prefix>/meta/active-region`, read in every region of the stage. */
  activeRegionParameter?: string;
  /** The stage's home region, active until a failover says otherwise. */
  homeRegion?: string;
}

const NOTHING_REACHABLE =
  'nothing to talk to: start local mode with `npm start` (in another terminal), or set STAGE=<stage> ' +
  `(one of: ${stages.map((stage) => stage.name).join(', ')}) with AWS credentials and region for a deployed stack`;

export async function resolveTarget(env = process.env): Promise<OpsTarget> {
  if (env.STAGE) return deployedTarget(env.STAGE);
  const local = readLocalState();
  if (!local) throw new OpsError(NOTHING_REACHABLE);
  try {
    const response = await fetch(`${local.awsEndpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) throw new Error(String(response.status));
  } catch {
    throw new OpsError(
      `local mode (pid ${local.pid}) is not answering at ${local.awsEndpoint}: is \`npm start\` still running? ${NOTHING_REACHABLE}`,
    );
  }
  const config = {
    endpoint: local.awsEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const ssm = new SSMClient(config);
  const dynamodb = new DynamoDBClient(config);
  const now = () => local.clockStartedAt + (Date.now() - local.clockStartedAt) * local.speed;
  const elapsedSeconds = (sinceWallMs: number) => ((Date.now() - sinceWallMs) / 1000) * local.speed;
  const handler = createRefreshHandler({
    providers: Object.values(providerFactories).map((create) => create()),
    env: { REFRESHER_LOCK_TABLE: local.lockTable, REFRESHER_DEPLOYMENT: 'local' },
    ssm,
    secretsManager: new SecretsManagerClient(config),
    dynamodb,
    clock: now,
  });
  return {
    description: `local mode (pid ${local.pid}, AWS emulator ${local.awsEndpoint}, clock ×${local.speed}): every time below is simulated`,
    ssm,
    dynamodb,
    lockTable: local.lockTable,
    sources: local.sources.map(toOpsSource),
    now,
    elapsedSeconds,
    refresh: async (sourceId) => {
      const source = local.sources.find((candidate) => candidate.id === sourceId);
      if (!source)
        throw new OpsError(
          `no source "${sourceId}" in local mode (sources: ${local.sources.map((s) => s.id).join(', ')})`,
        );
      const outcome = (await handler({ sources: [source], force: true }).catch(outcomeOf))
        .outcomes[0] as SourceOutcome;
      recordForcedRefresh(outcome);
      return outcome;
    },
  };
}

/** Resolved with the handler's own validation, so unset thresholds get the provider's default. */
function toOpsSource(definition: SourceDefinition): OpsSource {
  const providers = new Map(Object.entries(providerFactories).map(([name, create]) => [name, create()]));
  const resolved = resolveSource(definition, providers, definition.id);
  return {
    id: resolved.id,
    provider: resolved.provider.name,
    parameterName: resolved.parameterName,
    refreshThresholdSeconds: resolved.refreshThresholdSeconds,
  };
}

function outcomeOf(error: unknown): { outcomes: SourceOutcome[] } {
  const outcomes = (error as { outcomes?: SourceOutcome[] }).outcomes;
  if (outcomes) return { outcomes };
  throw error;
}

async function deployedTarget(stageName: string): Promise<OpsTarget> {
  const stage = stages.find((candidate) => candidate.name === stageName);
  if (!stage)
    throw new OpsError(
      `STAGE=${stageName} is not in infra/config/stages.ts (${stages.map((s) => s.name).join(', ')})`,
    );
  const stackName = `TokenRefresher-${stage.name}`;
  const region = stage.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new OpsError(
      `set AWS_REGION (or the stage's region in infra/config/stages.ts) to find stack ${stackName}`,
    );
  }
  const config = { region };
  let lockTable: string | undefined;
  let scheduleGroup: string | undefined;
  const where = `stack ${stackName} in ${region}`;
  try {
    const { Stacks } = await new CloudFormationClient(config).send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    const output = (key: string) =>
      Stacks?.[0]?.Outputs?.find((entry) => entry.OutputKey === key)?.OutputValue;
    lockTable = output('LockTableName');
    scheduleGroup = output('ScheduleGroupName');
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError ("Stack with id … does not exist").
    if (['ValidationError', 'ValidationException'].includes((error as Error).name)) {
      throw new OpsError(
        stage.region
          ? `${where} (the stage's region in infra/config/stages.ts) does not exist: deploy it (npx cdk deploy ${stackName})`
          : `${where} does not exist: deploy it (npx cdk deploy ${stackName}), or set AWS_REGION to the region it is in`,
      );
    }
    throw awsProblem(error, `look up ${where}`, 'cloudformation:DescribeStacks');
  }
  if (!lockTable || !scheduleGroup) {
    throw new OpsError(
      `${where} has no LockTableName or ScheduleGroupName output: it predates the ops commands; redeploy it (npx cdk deploy ${stackName})`,
    );
  }
  const prefix = stage.parameterPrefix ?? `/token-refresher/${stage.name}`;
  const parameterNames = await deployedParameterNames(stage);
  const scheduler = new SchedulerClient(config);
  const lambda = new LambdaClient(config);
  return {
    description: `stage ${stage.name} (${stackName}, ${region})`,
    ssm: new SSMClient(config),
    dynamodb: new DynamoDBClient(config),
    lockTable,
    sources: stage.sources.map((source) => ({
      id: source.id,
      provider: source.provider,
      parameterName: parameterNames.get(source.id) ?? tokenParameterName(prefix, source.provider, source.id),
      refreshThresholdSeconds: source.schedule
        ? source.schedule.refreshThresholdMinutes * 60
        : defaultSchedule(source.provider, source.options).refreshThreshold.toSeconds(),
    })),
    now: Date.now,
    elapsedSeconds: (sinceWallMs) => (Date.now() - sinceWallMs) / 1000,
    ...(stage.replicaRegions?.length
      ? {
          replicas: stage.replicaRegions.map((replica) => ({
            region: replica,
            ssm: new SSMClient({ region: replica, maxAttempts: 1 }),
          })),
          activeRegionParameter: `${prefix}/meta/active-region`,
          homeRegion: region,
        }
      : {}),
    refresh: async (sourceId) => {
      if (!stage.sources.some((source) => source.id === sourceId)) {
        throw new OpsError(
          `no source "${sourceId}" in stage ${stage.name} (sources: ${stage.sources.map((s) => s.id).join(', ')})`,
        );
      }
      // The schedule carries exactly what the function needs for this source.
      const scheduleName = `schedule "${sourceId}" in group ${scheduleGroup} (${where})`;
      const schedule = await scheduler
        .send(new GetScheduleCommand({ GroupName: scheduleGroup, Name: sourceId }))
        .catch((error: unknown) => {
          if ((error as Error).name === 'ResourceNotFoundException') {
            throw new OpsError(
              `no ${scheduleName}: the source is not deployed yet; deploy the stack (npx cdk deploy ${stackName})`,
            );
          }
          throw awsProblem(error, `read ${scheduleName}`, 'scheduler:GetSchedule');
        });
      const input = JSON.parse(schedule.Target?.Input ?? '{}') as Record<string, unknown>;
      const functionName = `function ${schedule.Target?.Arn} (target of ${scheduleName})`;
      const response = await lambda
        .send(
          new InvokeCommand({
            FunctionName: schedule.Target?.Arn,
            Payload: Buffer.from(JSON.stringify({ ...input, force: true })),
          }),
        )
        .catch((error: unknown) => {
          if ((error as Error).name === 'ResourceNotFoundException') {
            throw new OpsError(`${functionName} does not exist: redeploy (npx cdk deploy ${stackName})`);
          }
          throw awsProblem(error, `invoke ${functionName}`, 'lambda:InvokeFunction');
        });
      const payload = JSON.parse(Buffer.from(response.Payload ?? []).toString() || '{}');
      if (response.FunctionError) {
        throw new OpsError(
          `refresh of ${sourceId} failed: ${payload.errorMessage ?? response.FunctionError}; look up its error code in docs/runbook.md (the function's log group has the details)`,
        );
      }
      return payload.outcomes?.[0] as SourceOutcome;
    },
  };
}

/**
 * The parameter of each source, from the construct itself (TokenRefresher.parameterName), so the ops
 * commands follow the deployed layout. Built without bundling: only names are needed.
 */
async function deployedParameterNames(stage: StageConfig): Promise<Map<string, string>> {
  // Only for a deployed stage: building the stage's stack takes a few seconds.
  const [{ App }, { TokenRefresherStack }] = await Promise.all([
    import('aws-cdk-lib'),
    import('../../infra/token-refresher-stack.ts'),
  ]);
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new TokenRefresherStack(app, `TokenRefresher-${stage.name}`, { stage });
  return new Map(stage.sources.map((source) => [source.id, stack.refresher.parameterName(source.id)]));
}
