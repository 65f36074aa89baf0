import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DescribeAlarmsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { ReplicateSecretToRegionsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import { PLACEHOLDER_NOTE } from '../../infra/placeholder-note.ts';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import { createRefreshHandler } from '../../lambda/handlers/create-refresh-handler.ts';
import { PaypackProvider } from '../../lambda/providers/paypack.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import { parseMarker } from '../../lambda/refresh/regions.ts';
import { TokenReader } from '../../packages/client/src/get-token.ts';
import { type RegionClients, regionClients, switchActiveRegion } from '../../scripts/ops/region-switch.ts';
import { readParameter } from '../support/aws.ts';
import { deployRegionalRefresher } from '../support/deployed-region.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { freePort } from '../support/moto.ts';
import { World } from '../support/world.ts';

const HOME = 'us-east-1';
const STANDBY = 'eu-west-1';
const PREFIX = '/token-refresher/drill';
const STAGE: StageConfig = {
  name: 'drill',
  region: HOME,
  replicaRegions: [STANDBY],
  standbyRegion: STANDBY,
  parameterPrefix: PREFIX,
  alarmDestination: 'none',
  sources: [],
};
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
type Handler = ReturnType<typeof createRefreshHandler>;

/**
 * The failover drill of docs/regions.md against moto with two regions: a home
 * refresher and a standby, each with its lock table, schedule group, alarms and
 * parameter key; the scheduler is played by `tick`, which runs every enabled
 * schedule of a region through that region's real handler.
 */
describe('failover and failback drill (npm run failover) against moto in two regions', () => {
  let world: World;
  const clients = new Map<string, RegionClients>();
  const handlers = new Map<string, Handler>();
  const readers = new Map<string, TokenReader>();
  let source: SourceDefinition & { id: string };
  let lines: string[] = [];

  const client = (region: string) => clients.get(region) as RegionClients;
  const switchTo = (to: string, extra: Partial<Parameters<typeof switchActiveRegion>[0]> = {}) =>
    switchActiveRegion({
      stage: STAGE,
      to,
      dryRun: false,
      clients: client,
      pollMs: 100,
      log: (line) => lines.push(line),
      kick: async (region, { input }) => {
        await outcome(region, JSON.parse(input));
      },
      ...extra,
    });

  async function outcome(region: string, event: Record<string, unknown>): Promise<SourceOutcome> {
    try {
      return (await (handlers.get(region) as Handler)(event, lambdaContext(30_000)))
        .outcomes[0] as SourceOutcome;
    } catch (error) {
      const outcomes = (error as { outcomes?: SourceOutcome[] }).outcomes;
      if (!outcomes) throw error;
      return outcomes[0] as SourceOutcome;
    }
  }

  /** EventBridge Scheduler, played: each enabled schedule of the region runs once. */
  async function tick(region: string): Promise<SourceOutcome[]> {
    const schedule = await client(region).scheduler.send(
      new GetScheduleCommand({ GroupName: `${region}-group`, Name: source.id }),
    );
    return schedule.State === 'ENABLED'
      ? [await outcome(region, JSON.parse(schedule.Target?.Input ?? '{}'))]
      : [];
  }

  /** A consumer in each region reads a valid token, and both read the same one. */
  async function consumersHoldValidTokens(): Promise<string> {
    const tokens = await Promise.all(
      [HOME, STANDBY].map(async (region) => {
        const token = await (readers.get(region) as TokenReader).getToken(source.parameterName, {
          forceRefresh: true,
        });
        assert.ok(
          Date.parse(token.expiresAt) > Date.now() + 60_000,
          `${region}: the token has over a minute left`,
        );
        return token.token;
      }),
    );
    assert.equal(tokens[0], tokens[1], 'both regions hold the same token');
    return tokens[0] as string;
  }

  const scheduleState = async (region: string) =>
    (
      await client(region).scheduler.send(
        new GetScheduleCommand({ GroupName: `${region}-group`, Name: source.id }),
      )
    ).State;
  /**
   * moto lists alarms but does not implement EnableAlarmActions/DisableAlarmActions: those two calls are
   * answered at the SDK's edge, and what they asked for is recorded here per region.
   */
  const alarmActionsOn = new Map<string, Map<string, boolean>>();
  const alarmActions = async (region: string) => {
    const { MetricAlarms } = await client(region).cloudwatch.send(new DescribeAlarmsCommand({}));
    const name = MetricAlarms?.find((alarm) => alarm.AlarmName?.includes('PaypackStale'))?.AlarmName ?? '';
    return alarmActionsOn.get(region)?.get(name) ?? MetricAlarms?.[0]?.ActionsEnabled;
  };
  /** Calls that issue a token (authorize, refresh), not the probe of a new token. */
  const tokenCalls = () => world.paypack.server.calls.filter((call) => call.route !== 'merchant').length;
  const authorizations = () => world.paypack.server.calls.filter((call) => call.route === 'authorize').length;

  before(async () => {
    world = await World.start();
    for (const region of [HOME, STANDBY]) {
      const regional = regionClients(region, { endpoint: world.moto.endpoint, credentials });
      const states = new Map<string, boolean>();
      alarmActionsOn.set(region, states);
      regional.cloudwatch.middlewareStack.add(
        (next, context) => async (args) => {
          const enable = context.commandName === 'EnableAlarmActionsCommand';
          if (!enable && context.commandName !== 'DisableAlarmActionsCommand') return next(args);
          for (const name of (args.input as { AlarmNames: string[] }).AlarmNames) states.set(name, enable);
          return { output: { $metadata: {} }, response: {} } as never;
        },
        { step: 'initialize', name: 'motoLacksAlarmActions' },
      );
      clients.set(region, regional);
    }
    source = await world.paypackSource({
      id: 'cashin',
      parameterName: `${PREFIX}/tokens/paypack/cashin`,
      privateParameterName: `${PREFIX}/private/paypack/cashin/refresh-token`,
    });
    // The standby reads Secrets Manager's own replica of the secret, under the same name.
    await world.aws.secretsManager.send(
      new ReplicateSecretToRegionsCommand({
        SecretId: source.secretId,
        AddReplicaRegions: [{ Region: STANDBY }],
      }),
    );
    for (const region of [HOME, STANDBY]) {
      const { ssm, dynamodb, cloudwatch } = client(region);
      const stackName = region === HOME ? 'TokenRefresher-drill' : `TokenRefresher-drill-${STANDBY}`;
      await deployRegionalRefresher(client(region), {
        region,
        stackName,
        scheduleGroup: `${region}-group`,
        lockTable: `${region}-locks`,
        source,
        enabled: region === HOME,
      });
      await ssm.send(
        new PutParameterCommand({
          Name: `${PREFIX}/meta/key-arn`,
          Value: `arn:aws:kms:${region}:123456789012:key/${region}-key`,
          Type: 'String',
        }),
      );
      await putStalenessAlarm(cloudwatch, `${stackName}-AlarmsPaypackStale-ABC123`, region === HOME);
      // A source whose secret is still a placeholder: its alarm must stay silent after a failover.
      await putStalenessAlarm(
        cloudwatch,
        `${stackName}-SourcesNestedStack-Stale-placeholder-XYZ789`,
        false,
        `The token of source placeholder has under 360 s left. ${PLACEHOLDER_NOTE} Runbook: docs/runbook.md#alarm-source-token-stale`,
      );
      const other = region === HOME ? STANDBY : HOME;
      handlers.set(
        region,
        createRefreshHandler({
          providers: [new PaypackProvider()],
          env: {
            AWS_REGION: region,
            REFRESHER_PARAMETER_PREFIX: PREFIX,
            REFRESHER_LOCK_TABLE: `${region}-locks`,
            REFRESHER_REPLICA_REGIONS: JSON.stringify([other]),
            REFRESHER_REGION_ROLE: region === HOME ? 'home' : 'standby',
          },
          ssm,
          secretsManager: new SecretsManagerClient({ endpoint: world.moto.endpoint, region, credentials }),
          dynamodb,
          replicaSsm: (replica) => client(replica).ssm,
        }),
      );
      readers.set(region, new TokenReader({ ssm: ssm as SSMClient }));
    }
  });
  after(async () => {
    await world.stop();
  });

  it('runs at home until a failover, then only in the standby, which authorizes afresh; then back, with no refresh token presented twice', async () => {
    // Home, as deployed: its schedule runs, the token is copied to the standby region.
    assert.deepEqual(
      (await tick(HOME)).map((o) => o.status),
      ['refreshed'],
    );
    assert.deepEqual(await tick(STANDBY), [], 'the standby schedule is off');
    const homeToken = await consumersHoldValidTokens();
    const refreshToken = (await readParameter(world.aws.ssm, source.privateParameterName ?? ''))?.value;
    assert.ok(refreshToken, 'home keeps its refresh token');

    // The dry run changes nothing.
    lines = [];
    const plan = await switchTo(STANDBY, { dryRun: true });
    assert.equal(plan.changed, false);
    assert.match(
      lines.join('\n'),
      /turn off 1 schedule\(s\) in us-east-1[\s\S]*turn on 1 schedule\(s\) in eu-west-1/,
    );
    assert.equal(await scheduleState(HOME), 'ENABLED');

    // Failover while a home run is in flight: the command waits for its lease, then starts the standby.
    world.paypack.server.inject('refresh-sdk', { kind: 'delay', ms: 1_500 }, 1);
    const inFlight = outcome(HOME, { sources: [source], force: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    lines = [];
    const authorizedBefore = authorizations();
    const callsBefore = tokenCalls();
    const result = await switchTo(STANDBY);
    const homeRun = await inFlight;
    assert.equal(homeRun.status, 'refreshed', 'the run in flight finished before the standby started');
    assert.match(lines.join('\n'), /waiting for 1 run\(s\) in us-east-1: paypack\/cashin/);
    assert.deepEqual(result.marker, { region: STANDBY, generation: 1 });
    assert.equal(await scheduleState(HOME), 'DISABLED');
    assert.equal(await scheduleState(STANDBY), 'ENABLED');
    assert.equal(await alarmActions(HOME), false, "home's staleness alarms stop paging");
    assert.equal(await alarmActions(STANDBY), true);
    assert.equal(
      alarmActionsOn
        .get(STANDBY)
        ?.has(`TokenRefresher-drill-${STANDBY}-SourcesNestedStack-Stale-placeholder-XYZ789`),
      false,
      "a placeholder source's alarm stays silent",
    );
    assert.equal(
      tokenCalls(),
      callsBefore + 1,
      "only the home run in flight called Paypack (its refresh); the standby's first run found the copied token fresh",
    );
    await consumersHoldValidTokens();

    // The standby's first refresh authorizes: it never presents home's refresh token.
    const presentedBefore = world.paypack.presentedRefreshTokens.length;
    assert.equal((await outcome(STANDBY, { sources: [source], force: true })).status, 'refreshed');
    assert.equal(authorizations(), authorizedBefore + 1);
    assert.equal(world.paypack.presentedRefreshTokens.length, presentedBefore, 'no refresh token presented');
    const standbyToken = await consumersHoldValidTokens();
    assert.notEqual(standbyToken, homeToken);
    assert.equal(
      (await outcome(STANDBY, { sources: [source], force: true })).status,
      'refreshed',
      'then its own refresh token',
    );
    assert.equal(world.paypack.presentedRefreshTokens.length, presentedBefore + 1);

    // Home, even invoked by hand (a schedule a deploy turned back on), stands down.
    const stray = await outcome(HOME, { sources: [source], force: true });
    assert.equal(stray.status === 'failed' && stray.error.code, 'NOT_ACTIVE_REGION');
    assert.deepEqual(await tick(HOME), []);
    await consumersHoldValidTokens();

    // Failback: the same command the other way.
    lines = [];
    const back = await switchTo(HOME);
    assert.deepEqual(back.marker, { region: HOME, generation: 2 });
    assert.equal(await scheduleState(STANDBY), 'DISABLED');
    assert.equal(await scheduleState(HOME), 'ENABLED');
    assert.deepEqual(await tick(STANDBY), []);
    assert.equal((await outcome(HOME, { sources: [source], force: true })).status, 'refreshed');
    await consumersHoldValidTokens();
    assert.deepEqual(world.paypack.reusedRefreshTokens, [], 'no refresh token was presented twice');
    assert.equal(
      new Set(world.paypack.presentedRefreshTokens).size,
      world.paypack.presentedRefreshTokens.length,
    );

    // Running it again changes nothing and raises no generation.
    assert.deepEqual((await switchTo(HOME)).marker, { region: HOME, generation: 2 });
  });

  it('with home unreachable, fails over only when told so; home stands down when it returns, and a second run turns it off', async () => {
    const deadPort = await freePort();
    const unreachableHome = regionClients(HOME, {
      endpoint: `http://127.0.0.1:${deadPort}`,
      credentials,
      maxAttempts: 1,
    });
    const during = (region: string) => (region === HOME ? unreachableHome : client(region));
    await assert.rejects(
      switchTo(STANDBY, { clients: during }),
      /us-east-1 \(the region to stop\) does not answer[\s\S]*--old-region-unreachable/,
    );
    assert.equal(await scheduleState(STANDBY), 'DISABLED', 'nothing changed without the flag');

    const result = await switchTo(STANDBY, { clients: during, oldRegionUnreachable: true });
    assert.deepEqual(result.marker, { region: STANDBY, generation: 3 });
    assert.equal(await scheduleState(HOME), 'ENABLED', 'home could not be reached: its schedule is still on');
    assert.equal(await scheduleState(STANDBY), 'ENABLED');

    // Home returns: its schedule fires and calls no provider (the copied token is fresh), and a run
    // that would refresh stands down; the standby keeps the tokens valid.
    const calls = tokenCalls();
    const [returned] = await tick(HOME);
    assert.equal(returned?.status, 'fresh');
    const forced = await outcome(HOME, { sources: [source], force: true });
    assert.equal(forced.status === 'failed' && forced.error.code, 'NOT_ACTIVE_REGION');
    assert.equal(tokenCalls(), calls);
    assert.equal((await outcome(STANDBY, { sources: [source], force: true })).status, 'refreshed');
    await consumersHoldValidTokens();

    // That refresh copied the standby's marker to home: home now stands down even when it cannot
    // read the standby region at all.
    const homeMarker = await client(HOME).ssm.send(
      new GetParameterCommand({ Name: `${PREFIX}/meta/active-region` }),
    );
    assert.deepEqual(parseMarker(homeMarker.Parameter?.Value), { region: STANDBY, generation: 3 });
    const cutOff = regionClients(STANDBY, {
      endpoint: `http://127.0.0.1:${deadPort}`,
      credentials,
      maxAttempts: 1,
    });
    const isolatedHome = createRefreshHandler({
      providers: [new PaypackProvider()],
      env: {
        AWS_REGION: HOME,
        REFRESHER_PARAMETER_PREFIX: PREFIX,
        REFRESHER_LOCK_TABLE: `${HOME}-locks`,
        REFRESHER_REPLICA_REGIONS: JSON.stringify([STANDBY]),
      },
      ssm: client(HOME).ssm,
      secretsManager: world.aws.secretsManager,
      dynamodb: client(HOME).dynamodb,
      replicaSsm: () => cutOff.ssm,
    });
    const isolated = await isolatedHome({ sources: [source], force: true }, lambdaContext(30_000)).then(
      ({ outcomes }) => outcomes[0],
      (error: { outcomes?: SourceOutcome[] }) => error.outcomes?.[0],
    );
    assert.equal(isolated?.status === 'failed' && isolated.error.code, 'NOT_ACTIVE_REGION');
    assert.equal(tokenCalls(), calls + 1, 'only the standby called Paypack');

    await switchTo(STANDBY);
    assert.equal(await scheduleState(HOME), 'DISABLED', 'the second run turned home off');
    assert.deepEqual(world.paypack.reusedRefreshTokens, []);
  });
});

/** A staleness alarm as the stacks create it, named after its stack as CloudFormation names it. */
async function putStalenessAlarm(
  cloudwatch: RegionClients['cloudwatch'],
  name: string,
  actionsEnabled: boolean,
  description?: string,
): Promise<void> {
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      ...(description ? { AlarmDescription: description } : {}),
      MetricName: 'TokenSecondsRemaining',
      Namespace: 'TokenRefresher',
      Statistic: 'Minimum',
      Period: 480,
      EvaluationPeriods: 1,
      Threshold: 360,
      ComparisonOperator: 'LessThanThreshold',
      ActionsEnabled: actionsEnabled,
    }),
  );
}
