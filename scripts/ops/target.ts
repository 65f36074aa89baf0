import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { stages } from '../../infra/config/stages.ts';
import { DEFAULT_SCHEDULES } from '../../infra/token-refresher.ts';
import {
  resolveSource,
  type SourceDefinition,
  tokenParameterName,
} from '../../lambda/config/source-config.ts';
import { createRefreshHandler } from '../../lambda/handlers/create-refresh-handler.ts';
import { providerFactories } from '../../lambda/providers/index.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import { readLocalState } from '../local/state.ts';

/** A failure the operator can act on: printed as is, without a stack trace. */
export class OpsError extends Error {}

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
  now: () => number;
  refresh(sourceId: string): Promise<SourceOutcome>;
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
  const handler = createRefreshHandler({
    providers: Object.values(providerFactories).map((create) => create()),
    env: { REFRESHER_LOCK_TABLE: local.lockTable, REFRESHER_DEPLOYMENT: 'local' },
    ssm,
    secretsManager: new SecretsManagerClient(config),
    dynamodb,
    clock: now,
  });
  return {
    description: `local mode (pid ${local.pid}, AWS emulator ${local.awsEndpoint}, clock ×${local.speed})`,
    ssm,
    dynamodb,
    lockTable: local.lockTable,
    sources: local.sources.map(toOpsSource),
    now,
    refresh: async (sourceId) => {
      const source = local.sources.find((candidate) => candidate.id === sourceId);
      if (!source)
        throw new OpsError(
          `no source "${sourceId}" in local mode (sources: ${local.sources.map((s) => s.id).join(', ')})`,
        );
      return (await handler({ sources: [source], force: true }).catch(outcomeOf))
        .outcomes[0] as SourceOutcome;
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
  if (!region) throw new OpsError("set AWS_REGION (or the stage's region in infra/config/stages.ts)");
  const config = { region };
  let lockTable: string | undefined;
  let scheduleGroup: string | undefined;
  try {
    const { Stacks } = await new CloudFormationClient(config).send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    const output = (key: string) =>
      Stacks?.[0]?.Outputs?.find((entry) => entry.OutputKey === key)?.OutputValue;
    lockTable = output('LockTableName');
    scheduleGroup = output('ScheduleGroupName');
  } catch (error) {
    throw new OpsError(
      `cannot reach stack ${stackName} in ${region}: ${(error as Error).name} (AWS credentials, region, deployed?)`,
    );
  }
  const prefix = stage.parameterPrefix ?? `/token-refresher/${stage.name}`;
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
      parameterName: tokenParameterName(prefix, source.provider, source.id),
      refreshThresholdSeconds:
        (source.schedule?.refreshThresholdMinutes ??
          DEFAULT_SCHEDULES[source.provider].refreshThreshold.toMinutes()) * 60,
    })),
    now: Date.now,
    refresh: async (sourceId) => {
      if (!stage.sources.some((source) => source.id === sourceId)) {
        throw new OpsError(
          `no source "${sourceId}" in stage ${stage.name} (sources: ${stage.sources.map((s) => s.id).join(', ')})`,
        );
      }
      // The schedule carries exactly what the function needs for this source.
      const schedule = await scheduler.send(
        new GetScheduleCommand({ GroupName: scheduleGroup, Name: sourceId }),
      );
      const input = JSON.parse(schedule.Target?.Input ?? '{}') as Record<string, unknown>;
      const response = await lambda.send(
        new InvokeCommand({
          FunctionName: schedule.Target?.Arn,
          Payload: Buffer.from(JSON.stringify({ ...input, force: true })),
        }),
      );
      const payload = JSON.parse(Buffer.from(response.Payload ?? []).toString() || '{}');
      if (response.FunctionError) {
        throw new OpsError(
          `refresh of ${sourceId} failed: ${payload.errorMessage ?? response.FunctionError} (details in the function's log group)`,
        );
      }
      return payload.outcomes?.[0] as SourceOutcome;
    },
  };
}
