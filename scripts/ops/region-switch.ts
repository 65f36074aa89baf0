import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  DisableAlarmActionsCommand,
  EnableAlarmActionsCommand,
} from '@aws-sdk/client-cloudwatch';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { PLACEHOLDER_NOTE } from '../../infra/placeholder-note.ts';
import {
  type ActiveRegionMarker,
  activeRegionParameterName,
  parseMarker,
  winningMarker,
} from '../../lambda/refresh/regions.ts';
import { OpsError } from './ops-error.ts';
import { awsProblem } from './target.ts';

export interface RegionClients {
  ssm: SSMClient;
  scheduler: SchedulerClient;
  dynamodb: DynamoDBClient;
  cloudwatch: CloudWatchClient;
  cloudformation: CloudFormationClient;
}

export function regionClients(region: string, extra: Record<string, unknown> = {}): RegionClients {
  // One attempt of a few seconds: a region in an outage must not hold the command for minutes.
  const config = {
    region,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
    ...extra,
  };
  return {
    ssm: new SSMClient(config),
    scheduler: new SchedulerClient(config),
    dynamodb: new DynamoDBClient(config),
    cloudwatch: new CloudWatchClient(config),
    cloudformation: new CloudFormationClient(config),
  };
}

export interface SwitchOptions {
  stage: StageConfig;
  /** The region to make active: the stage's standbyRegion (failover) or its home region (failback). */
  to: string;
  dryRun: boolean;
  clients: (region: string) => RegionClients;
  /** The person running the command says the old region cannot be reached (a region outage). */
  oldRegionUnreachable?: boolean;
  /** Longest wait for a run in flight in the old region (its lease). Default 60 s. */
  waitMs?: number;
  pollMs?: number;
  /** Starts one run per source in the new region at once (the CLI invokes the function). */
  kick?: (region: string, target: { functionArn: string; input: string }) => Promise<void>;
  log: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SwitchResult {
  marker: ActiveRegionMarker;
  /** Milliseconds each step took, by step name (docs/regions.md quotes them). */
  steps: Record<string, number>;
  changed: boolean;
}

/** The stack name of a stage in a region: home keeps the stage's name, the standby adds its region. */
export function refresherStackName(stage: StageConfig, region: string): string {
  return region === stage.region ? `TokenRefresher-${stage.name}` : `TokenRefresher-${stage.name}-${region}`;
}

/**
 * Makes `to` the active region of a stage, safely and idempotently: a person
 * decides, the command orders the steps so that two regions never refresh at
 * once. 1. write the new active-region marker (one generation up) in every
 * region that answers; 2. turn off the old region's schedules and its staleness
 * alarms' actions; 3. wait until no run holds a lease there; 4. turn on the new
 * region's schedules and alarm actions; 5. start a run per source there.
 * A run that starts in the old region after step 1 stands down at its first
 * check (NOT_ACTIVE_REGION), even if step 2 could not reach that region.
 */
export async function switchActiveRegion(options: SwitchOptions): Promise<SwitchResult> {
  const { stage, to, log } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const home = stage.region;
  if (!home || !stage.standbyRegion) {
    throw new OpsError(
      `stage ${stage.name} has no standbyRegion (and home region) in infra/config/stages.ts: there is nothing to fail over to`,
    );
  }
  const refresherRegions = [home, stage.standbyRegion];
  if (!refresherRegions.includes(to)) {
    throw new OpsError(
      `--to ${to}: stage ${stage.name} refreshes only in ${refresherRegions.join(' (home) or ')} (standby)`,
    );
  }
  const from = refresherRegions.find((region) => region !== to) as string;
  const allRegions = [home, ...(stage.replicaRegions ?? [])];
  const prefix = stage.parameterPrefix ?? `/token-refresher/${stage.name}`;
  const steps: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = now();
    try {
      return await work();
    } finally {
      steps[name] = now() - started;
    }
  };

  const markers = await timed('read markers', () => readMarkers(options, allRegions, prefix));
  const unreachable = allRegions.filter((region) => markers.get(region) === 'unreachable');
  if (unreachable.includes(from) && !options.oldRegionUnreachable) {
    throw new OpsError(
      `${from} (the region to stop) does not answer. If it is in an outage and you decide to fail over anyway, add --old-region-unreachable: its runs will stand down when it comes back, because the marker in ${to} outranks its own; run this command again then to turn its schedules off`,
    );
  }
  if (unreachable.includes(to))
    throw new OpsError(`${to} (the region to start) does not answer: nothing was changed`);
  const current = winningMarker(
    [...markers.values()].map((marker) => (marker === 'unreachable' ? undefined : marker)),
  );
  const already = current?.region === to;
  const marker = already && current ? current : { region: to, generation: (current?.generation ?? 0) + 1 };
  const [fromStack, toStack] = await timed('find stacks', () =>
    Promise.all([
      unreachable.includes(from) ? undefined : stackOutputs(options, stage, from),
      stackOutputs(options, stage, to),
    ]),
  );
  const fromSchedules = fromStack ? await listSchedules(options, from, fromStack.scheduleGroup) : [];
  const toSchedules = await listSchedules(options, to, toStack.scheduleGroup);

  log(
    `${options.dryRun ? 'Plan (dry run: nothing is changed)' : 'Failover'}: make ${to} the active region of stage ${stage.name} (now: ${current ? `${current.region}, generation ${current.generation}` : `${home} by default, no marker yet`})`,
  );
  log(
    `  1. write ${activeRegionParameterName(prefix)} = ${to}, generation ${marker.generation}, in ${allRegions.filter((region) => !unreachable.includes(region)).join(', ')}${already ? ' (already so)' : ''}`,
  );
  log(
    fromStack
      ? `  2. turn off ${fromSchedules.length} schedule(s) in ${from} (group ${fromStack.scheduleGroup}) and its staleness alarms' actions`
      : `  2. skipped: ${from} does not answer (--old-region-unreachable); run this command again once it does`,
  );
  log(
    fromStack
      ? `  3. wait up to ${Math.round((options.waitMs ?? 60_000) / 1000)} s until no run in ${from} holds a lease (table ${fromStack.lockTable})`
      : '  3. skipped: nothing to wait for in a region that does not answer',
  );
  log(
    `  4. turn on ${toSchedules.length} schedule(s) in ${to} (group ${toStack.scheduleGroup}) and its staleness alarms' actions`,
  );
  log(`  5. start one run per source in ${to}${options.kick ? '' : ' (skipped: no way to invoke)'}`);
  if (options.dryRun) return { marker, steps, changed: false };

  await timed('1 marker', () =>
    writeMarkers(
      options,
      allRegions.filter((region) => !unreachable.includes(region)),
      prefix,
      marker,
    ),
  );
  if (fromStack) {
    await timed('2 stop old', async () => {
      await setSchedules(options, from, fromStack.scheduleGroup, fromSchedules, 'DISABLED');
      await setAlarmActions(options, from, refresherStackName(stage, from), false);
    });
    await timed('3 wait for runs', () => waitForLeases(options, from, fromStack.lockTable, now, sleep));
  }
  await timed('4 start new', async () => {
    await setSchedules(options, to, toStack.scheduleGroup, toSchedules, 'ENABLED');
    await setAlarmActions(options, to, refresherStackName(stage, to), true);
  });
  if (options.kick) {
    const kick = options.kick;
    await timed('5 first runs', async () => {
      for (const name of toSchedules) {
        const schedule = await options
          .clients(to)
          .scheduler.send(new GetScheduleCommand({ GroupName: toStack.scheduleGroup, Name: name }));
        await kick(to, { functionArn: schedule.Target?.Arn ?? '', input: schedule.Target?.Input ?? '{}' });
      }
    });
  }
  log(
    `Done: ${to} is the active region (generation ${marker.generation}). ${Object.entries(steps)
      .map(([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`)
      .join(', ')}`,
  );
  return { marker, steps, changed: true };
}

async function readMarkers(options: SwitchOptions, regions: string[], prefix: string) {
  const found = new Map<string, ActiveRegionMarker | undefined | 'unreachable'>();
  await Promise.all(
    regions.map(async (region) => {
      try {
        const { Parameter } = await options
          .clients(region)
          .ssm.send(new GetParameterCommand({ Name: activeRegionParameterName(prefix) }));
        found.set(region, parseMarker(Parameter?.Value));
      } catch (error) {
        const name = (error as Error).name;
        if (name === 'ParameterNotFound') found.set(region, undefined);
        else if (unreachableRegion(error)) found.set(region, 'unreachable');
        else throw awsProblem(error, `read the active-region marker in ${region}`, 'ssm:GetParameter');
      }
    }),
  );
  return found;
}

/** No answer, or an answer only a region in trouble gives: not a credentials or permissions problem. */
function unreachableRegion(error: unknown): boolean {
  const { name, code, $metadata } = error as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (($metadata?.httpStatusCode ?? 0) >= 500) return true;
  return /Timeout|Abort|NetworkingError|ECONN|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|socket hang up/i.test(
    `${name} ${code ?? ''}`,
  );
}

async function writeMarkers(
  options: SwitchOptions,
  regions: string[],
  prefix: string,
  marker: ActiveRegionMarker,
) {
  await Promise.all(
    regions.map((region) =>
      options.clients(region).ssm.send(
        new PutParameterCommand({
          Name: activeRegionParameterName(prefix),
          Value: JSON.stringify({ ...marker, changedAt: new Date().toISOString() }),
          Type: 'String',
          Overwrite: true,
          Description: 'The active region of this token-refresher stage: written by npm run failover only',
        }),
      ),
    ),
  );
}

async function stackOutputs(options: SwitchOptions, stage: StageConfig, region: string) {
  const stackName = refresherStackName(stage, region);
  try {
    const { Stacks } = await options
      .clients(region)
      .cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    const output = (key: string) =>
      Stacks?.[0]?.Outputs?.find((entry) => entry.OutputKey === key)?.OutputValue;
    const scheduleGroup = output('ScheduleGroupName');
    const lockTable = output('LockTableName');
    if (!scheduleGroup || !lockTable)
      throw new OpsError(
        `stack ${stackName} in ${region} has no ScheduleGroupName or LockTableName output: redeploy it`,
      );
    return { scheduleGroup, lockTable };
  } catch (error) {
    if (error instanceof OpsError) throw error;
    throw new OpsError(
      `cannot find stack ${stackName} in ${region} (${(error as Error).name}): deploy it (npx cdk deploy ${stackName})`,
    );
  }
}

async function listSchedules(options: SwitchOptions, region: string, group: string): Promise<string[]> {
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await options
      .clients(region)
      .scheduler.send(new ListSchedulesCommand({ GroupName: group, NextToken }));
    names.push(...(page.Schedules ?? []).map((schedule) => schedule.Name as string));
    NextToken = page.NextToken;
  } while (NextToken);
  return names;
}

/** UpdateSchedule replaces the whole schedule: everything is carried over, only the state changes. */
async function setSchedules(
  options: SwitchOptions,
  region: string,
  group: string,
  names: string[],
  state: 'ENABLED' | 'DISABLED',
) {
  const { scheduler } = options.clients(region);
  for (const name of names) {
    const schedule = await scheduler.send(new GetScheduleCommand({ GroupName: group, Name: name }));
    if (schedule.State === state) continue;
    await scheduler.send(
      new UpdateScheduleCommand({
        Name: name,
        GroupName: group,
        ScheduleExpression: schedule.ScheduleExpression,
        FlexibleTimeWindow: schedule.FlexibleTimeWindow,
        Target: schedule.Target,
        Description: schedule.Description,
        ScheduleExpressionTimezone: schedule.ScheduleExpressionTimezone,
        StartDate: schedule.StartDate,
        EndDate: schedule.EndDate,
        KmsKeyArn: schedule.KmsKeyArn,
        ActionAfterCompletion: schedule.ActionAfterCompletion,
        State: state,
      }),
    );
  }
}

/** Only the staleness alarms: a region that is not active reports no runs, which is no one's emergency. */
async function setAlarmActions(options: SwitchOptions, region: string, stackName: string, enabled: boolean) {
  const { cloudwatch } = options.clients(region);
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: `${stackName}-`, NextToken }),
    );
    // CloudFormation names an alarm after its stack (nested stacks too); alarms are regional, so the
    // standby's stack, whose name extends home's, is never listed with home's.
    // A placeholder source's alarm stays silent until its secret is filled (and deployed).
    for (const alarm of page.MetricAlarms ?? []) {
      const staleness = /^(Replica)?TokenSecondsRemaining$/.test(alarm.MetricName ?? '');
      const placeholder = enabled && (alarm.AlarmDescription ?? '').includes(PLACEHOLDER_NOTE);
      if (staleness && !placeholder) names.push(alarm.AlarmName as string);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  for (let start = 0; start < names.length; start += 100) {
    const AlarmNames = names.slice(start, start + 100);
    await cloudwatch.send(
      enabled
        ? new EnableAlarmActionsCommand({ AlarmNames })
        : new DisableAlarmActionsCommand({ AlarmNames }),
    );
  }
}

/**
 * A lease is live while it is held (rvn) and renewed (leaseUntil ahead): a run is in flight. The scan is
 * strongly consistent and paged to the end; leaseUntil is the Lambda's clock, so a lease counts as live
 * until CLOCK_SKEW_MS after it, in case this machine's clock runs ahead.
 */
async function waitForLeases(
  options: SwitchOptions,
  region: string,
  table: string,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
) {
  const giveUpAt = now() + (options.waitMs ?? 60_000);
  for (;;) {
    const live: string[] = [];
    let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await options.clients(region).dynamodb.send(
        new ScanCommand({
          TableName: table,
          ConsistentRead: true,
          FilterExpression: 'attribute_exists(rvn) AND leaseUntil > :since',
          ExpressionAttributeValues: { ':since': { N: String(Date.now() - CLOCK_SKEW_MS) } },
          ProjectionExpression: 'sourceId',
          ExclusiveStartKey,
        }),
      );
      live.push(...(page.Items ?? []).map((item) => item.sourceId?.S ?? '?'));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    if (live.length === 0) return;
    if (now() >= giveUpAt) {
      throw new OpsError(
        `a run in ${region} still holds the lease of ${live.join(', ')}: the marker is written and ${region}'s schedules are off, but ${options.to}'s are not on yet; run the same command again to finish`,
      );
    }
    options.log(`  waiting for ${live.length} run(s) in ${region}: ${live.join(', ')}`);
    await sleep(options.pollMs ?? 1_000);
  }
}

/** How far this machine's clock may run ahead of Lambda's before a live lease looks expired. */
const CLOCK_SKEW_MS = 5_000;
