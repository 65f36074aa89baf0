import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../infra/config/stage-config.ts';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { RefreshHandlerOptions } from '../../lambda/handlers/create-refresh-handler.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import { regionClients, switchActiveRegion } from '../../scripts/ops/region-switch.ts';
import { AwsFaultInjector } from '../support/aws-fault-injector.ts';
import { deployRegionalRefresher } from '../support/deployed-region.ts';
import { stalledEndpoint } from '../support/stalled-endpoint.ts';
import type { World } from '../support/world.ts';

export const HOME_REGION = 'us-east-1';
export const REPLICA_REGION = 'eu-west-1';
/** The world's sources live under this prefix (`/token-refresher/tokens/<provider>/<id>`). */
const PREFIX = '/token-refresher';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export type RegionFault =
  | 'replica stalled'
  | 'replica write denied'
  | 'replica key missing'
  | 'failover in flight';

export interface RegionFaultSetup {
  handlerOptions: Partial<RefreshHandlerOptions>;
  cleanup: () => Promise<void>;
  /** Runs beside the faulty run, and then says what an operator would see of it. */
  during?: (run: Promise<SourceOutcome | undefined>) => Promise<string>;
}

/**
 * The home function with one replica region, and the fault in that region: an
 * endpoint that never answers, a write AccessDenied, no key ARN, or a failover
 * (`npm run failover`, the real command against moto in both regions) started
 * while the run is in flight.
 */
export async function applyRegionFault(
  world: World,
  fault: RegionFault,
  source: SourceDefinition,
): Promise<RegionFaultSetup> {
  const replicaFaults = new AwsFaultInjector();
  const stall = fault === 'replica stalled' ? await stalledEndpoint() : undefined;
  const replicaSsm = new SSMClient({
    endpoint: stall?.url ?? world.moto.endpoint,
    region: REPLICA_REGION,
    credentials,
    maxAttempts: 2,
    requestHandler: replicaFaults,
  });
  const keyArnName = `${PREFIX}/meta/key-arn`;
  if (fault === 'replica key missing') {
    await replicaSsm.send(new DeleteParameterCommand({ Name: keyArnName })).catch(() => undefined);
  } else if (!stall) {
    await replicaSsm.send(
      new PutParameterCommand({
        Name: keyArnName,
        Value: `arn:aws:kms:${REPLICA_REGION}:123456789012:key/replica`,
        Type: 'String',
        Overwrite: true,
      }),
    );
  }
  if (fault === 'replica write denied') {
    replicaFaults.inject('PutParameter', {
      kind: 'error',
      status: 400,
      type: 'AccessDeniedException',
      message: 'User is not authorized to perform ssm:PutParameter',
    });
  }
  const lockTable = `region-fault-locks-${source.id}`;
  const env: Record<string, string> = {
    AWS_REGION: HOME_REGION,
    REFRESHER_PARAMETER_PREFIX: PREFIX,
    REFRESHER_REPLICA_REGIONS: JSON.stringify([REPLICA_REGION]),
    REFRESHER_REPLICA_TIMEOUT_MS: '1500',
  };
  const cleanup = async () => {
    replicaSsm.destroy();
    await stall?.close();
  };
  if (fault !== 'failover in flight')
    return { handlerOptions: { env, replicaSsm: () => replicaSsm }, cleanup };

  const stage = await deployedPair(world, source, lockTable);
  world.paypack.server.inject('refresh-sdk', { kind: 'delay', ms: 1_500 }, 1);
  return {
    handlerOptions: { env: { ...env, REFRESHER_LOCK_TABLE: lockTable }, replicaSsm: () => replicaSsm },
    // The marker would make every later case with replicas stand down.
    cleanup: async () => {
      for (const region of [HOME_REGION, REPLICA_REGION]) {
        await regionClients(region, { endpoint: world.moto.endpoint, credentials })
          .ssm.send(new DeleteParameterCommand({ Name: `${PREFIX}/meta/active-region` }))
          .catch(() => undefined);
      }
      await cleanup();
    },
    during: async (run) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const lines: string[] = [];
      const result = await switchActiveRegion({
        stage,
        to: REPLICA_REGION,
        dryRun: false,
        clients: (region) => regionClients(region, { endpoint: world.moto.endpoint, credentials }),
        pollMs: 100,
        log: (line) => lines.push(line),
      });
      const outcome = await run;
      const waited = lines.some((line) => line.startsWith('  waiting for 1 run(s)'));
      const home = await regionClients(HOME_REGION, {
        endpoint: world.moto.endpoint,
        credentials,
      }).scheduler.send(new GetScheduleCommand({ GroupName: `${HOME_REGION}-group`, Name: source.id }));
      return `failover to ${result.marker.region} (generation ${result.marker.generation}) ${waited ? 'waited for the run' : 'did not wait'}; the run ${outcome?.status}; home schedule ${home.State}`;
    },
  };
}

/** What `cdk deploy` leaves in each region for the failover command: stack outputs, a schedule group, a lock table. */
async function deployedPair(
  world: World,
  source: SourceDefinition,
  homeLockTable: string,
): Promise<StageConfig> {
  const name = `faults-${source.id}`;
  for (const region of [HOME_REGION, REPLICA_REGION]) {
    const stackName =
      region === HOME_REGION ? `TokenRefresher-${name}` : `TokenRefresher-${name}-${REPLICA_REGION}`;
    await deployRegionalRefresher(regionClients(region, { endpoint: world.moto.endpoint, credentials }), {
      region,
      stackName,
      scheduleGroup: `${region}-group`,
      lockTable: region === HOME_REGION ? homeLockTable : `${homeLockTable}-standby`,
      source,
      enabled: region === HOME_REGION,
    });
  }
  return {
    name,
    region: HOME_REGION,
    replicaRegions: [REPLICA_REGION],
    standbyRegion: REPLICA_REGION,
    parameterPrefix: PREFIX,
    alarmDestination: 'none',
    sources: [],
  };
}
