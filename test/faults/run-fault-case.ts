import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { AWS_CLIENT_CONFIG } from '../../lambda/aws/bounded-calls.ts';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { RefreshHandlerOptions } from '../../lambda/handlers/create-refresh-handler.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { awsClients, createLockTable, putSecret, readParameter } from '../support/aws.ts';
import { findLeaks } from '../support/capture.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { takeLeaseOver } from '../support/lease-thief.ts';
import { freePort } from '../support/moto.ts';
import { stalledEndpoint } from '../support/stalled-endpoint.ts';
import type { World } from '../support/world.ts';
import { crashAfterSpend } from './crash-after-spend.ts';
import type { Behaviour, FaultCase } from './fault-cases.ts';
import { applyRegionFault } from './region-faults.ts';

export interface FaultRow {
  group: string;
  fault: string;
  behaviour: Behaviour | 'refreshed';
  code: string | undefined;
  error: string;
  /** "yes": the last good token is still published; "replaced": a new valid token was published instead. */
  lastGoodToken: 'yes' | 'no' | 'replaced by a new valid token';
  leaked: boolean;
  /** Calls each provider route received during the faulty run. */
  routeCalls: Record<string, number>;
}

/** Short timeouts keep hangs and drips quick; three attempts as in production. */
const FAST_HTTP = { timeoutMs: 1_000, maxAttempts: 3 };

/**
 * Publishes a good token for a fresh source, applies the fault, forces a
 * refresh through the real handler, and reports what an operator would see.
 */
export async function runFaultCase(world: World, testCase: FaultCase, id: string): Promise<FaultRow> {
  const linesBefore = world.capture.lines.length;
  const source =
    testCase.provider === 'paypack'
      ? await world.paypackSource({ id, http: FAST_HTTP })
      : testCase.provider === 'oauth2'
        ? await world.oauth2Source({ id, http: FAST_HTTP })
        : await world.papayaSource({ id, http: FAST_HTTP });
  world.paypack.setRefreshPaths(['sdk', 'docs']);
  await world.handler()({ sources: [source] });
  const good = await readParameter(world.aws.ssm, source.parameterName);

  const { counter, runSource, handlerOptions, context, cleanup, during } = await applyFault(
    world,
    testCase,
    source,
  );
  let regionNote = '';
  const before = counter();
  const sandboxServer = sandboxFor(world, testCase).server;
  const routes = testCase.provider === 'paypack' ? ['authorize', 'refresh-sdk', 'refresh-docs'] : ['token'];
  const routeCallsBefore = routes.map((route) => sandboxServer.callsTo(route).length);
  let outcome: SourceOutcome | undefined;
  let errorText = '';
  let rejectedAtStart = false;
  try {
    if (testCase.setup.target === 'configuration') {
      const raw = testCase.setup.raw ?? JSON.stringify([testCase.setup.change(source)]);
      try {
        world.handler({ env: { REFRESHER_SOURCES: raw } });
      } catch (error) {
        rejectedAtStart = true;
        errorText = (error as Error).message;
        world.capture.record(error);
      }
    } else {
      const running = (async () => {
        try {
          return (await world.handler(handlerOptions)({ sources: [runSource], force: true }, context))
            .outcomes[0];
        } catch (error) {
          world.capture.record(error);
          const failed = (error as { outcomes?: SourceOutcome[] }).outcomes?.[0];
          if (!failed) errorText = (error as Error).message;
          return failed;
        }
      })();
      regionNote = (await during?.(running)) ?? '';
      outcome = await running;
      world.capture.record(outcome);
      if (outcome?.status === 'failed') errorText = outcome.error.message;
      const replica = outcome?.replicas?.find((copy) => copy.status === 'behind');
      if (replica) errorText = `replica ${replica.region} behind: ${replica.code}`;
      if (regionNote) errorText = regionNote;
    }
  } finally {
    world.paypack.server.clearFaults();
    world.papaya.server.clearFaults();
    world.oauth2.server.clearFaults();
    world.awsFaults.clear();
    await cleanup();
  }

  const after = await readParameter(world.aws.ssm, source.parameterName);
  const unchanged = JSON.stringify(after) === JSON.stringify(good);
  const published = parsePublishedToken(after?.value ?? '');
  const sandbox = sandboxFor(world, testCase);
  const replacedByValid = !unchanged && published !== undefined && (await sandbox.isLive(published.token));
  const captured = world.capture.lines.slice(linesBefore).join('\n') + errorText;

  return {
    group: testCase.group,
    fault: testCase.name,
    behaviour: rejectedAtStart
      ? 'rejected at start'
      : observeBehaviour(world, testCase, outcome, counter() - before),
    code: outcome?.status === 'failed' ? outcome.error.code : rejectedAtStart ? 'CONFIG_INVALID' : undefined,
    error: errorText,
    lastGoodToken: unchanged ? 'yes' : replacedByValid ? 'replaced by a new valid token' : 'no',
    leaked: findLeaks(captured, world.sensitiveValues()).length > 0,
    routeCalls: Object.fromEntries(
      routes.map((route, index) => [
        route,
        sandboxServer.callsTo(route).length - (routeCallsBefore[index] ?? 0),
      ]),
    ),
  };
}

async function applyFault(world: World, testCase: FaultCase, source: SourceDefinition) {
  const setup = testCase.setup;
  const sandbox = sandboxFor(world, testCase).server;
  let counter = () => 0;
  let runSource: SourceDefinition = source;
  let handlerOptions: Partial<RefreshHandlerOptions> = {};
  let context: Context | undefined;
  let cleanup = async () => {};
  let during: ((run: Promise<SourceOutcome | undefined>) => Promise<string>) | undefined;
  switch (setup.target) {
    case 'region': {
      ({ handlerOptions, cleanup, during } = await applyRegionFault(world, setup.fault, source));
      break;
    }
    case 'crash after the refresh token was spent':
      await crashAfterSpend(world, source);
      break;
    case 'stalled aws': {
      const stall = await stalledEndpoint();
      cleanup = stall.close;
      const aws = { ...AWS_CLIENT_CONFIG, region: 'us-east-1', credentials: TEST_CREDENTIALS };
      const at = (service: string) => ({
        ...aws,
        endpoint: setup.service === service ? stall.url : world.moto.endpoint,
      });
      handlerOptions = {
        ssm: new SSMClient(at('ssm')),
        secretsManager: new SecretsManagerClient(at('secretsManager')),
        ...(setup.service === 'dynamodb'
          ? {
              dynamodb: new DynamoDBClient(at('dynamodb')),
              env: { REFRESHER_LOCK_TABLE: 'fault-stalled-locks' },
            }
          : {}),
      };
      context = lambdaContext(setup.budgetMs);
      break;
    }
    case 'lease taken over after the marker': {
      await createLockTable(world.aws.dynamodb, FAULT_LOCK_TABLE).catch(() => undefined); // one table for all cases
      const clients = awsClients(world.moto.endpoint);
      let privateWrites = 0;
      clients.ssm.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          const input = args.input as { Name?: string; Value?: string };
          if (
            input.Value !== undefined &&
            input.Name === source.privateParameterName &&
            ++privateWrites === 1
          )
            await takeLeaseOver(world.aws, FAULT_LOCK_TABLE, source);
          return result;
        },
        { step: 'initialize', name: 'takeLeaseOverAfterMarker' },
      );
      handlerOptions = { ...clients, env: { REFRESHER_LOCK_TABLE: FAULT_LOCK_TABLE } };
      cleanup = async () => {
        clients.ssm.destroy();
        clients.dynamodb.destroy();
        clients.secretsManager.destroy();
      };
      break;
    }
    case 'paced writes':
      handlerOptions = { env: { REFRESHER_SSM_WRITES_PER_SECOND: String(setup.perSecond) } };
      context = lambdaContext(setup.budgetMs);
      break;
    case 'provider': {
      if (setup.route === 'refresh-*') {
        sandbox.inject('refresh-sdk', setup.fault);
        sandbox.inject('refresh-docs', setup.fault);
      } else if (setup.route === 'authorize-2x') {
        sandbox.inject('authorize', setup.fault, 2);
      } else if (setup.route === 'token-2x') {
        sandbox.inject('token', setup.fault, 2);
      } else {
        sandbox.inject(setup.route, setup.fault);
      }
      // Faults on authorize must reach authorize: take the refresh paths away.
      if (setup.route.startsWith('authorize')) world.paypack.setRefreshPaths([]);
      const route = setup.route.replace('-2x', '').replace('refresh-*', 'refresh-sdk');
      counter = () => sandbox.callsTo(route).length;
      break;
    }
    case 'unreachable provider':
      runSource = { ...source, baseUrl: `http://127.0.0.1:${await freePort()}/api` };
      break;
    case 'aws':
      world.awsFaults.inject(setup.operation, setup.fault);
      counter = () => world.awsFaults.calls.get(setup.operation) ?? 0;
      break;
    case 'secret value':
      world.testSecrets.push(setup.value, ...Object.values(safeJson(setup.value)));
      await putSecret(world.aws.secretsManager, source.secretId, setup.value);
      break;
    case 'missing secret':
      await world.aws.secretsManager.send(
        new DeleteSecretCommand({ SecretId: source.secretId, ForceDeleteWithoutRecovery: true }),
      );
      break;
    case 'configuration':
      break;
  }
  return { counter, runSource, handlerOptions, context, cleanup, during };
}

const TEST_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const FAULT_LOCK_TABLE = 'fault-matrix-locks';
function observeBehaviour(
  world: World,
  testCase: FaultCase,
  outcome: SourceOutcome | undefined,
  faultedCalls: number,
): Behaviour | 'refreshed' {
  const target = testCase.setup.target;
  if (target === 'region' && outcome?.status === 'refreshed') {
    if (testCase.setup.fault === 'failover in flight') return 'finished; the failover waited for it';
    if (outcome.replicas?.[0]?.status === 'behind') return 'published at home; the replica reported behind';
  }
  if (outcome?.status === 'failed') {
    if (target === 'stalled aws' || target === 'paced writes') return 'failed within the time budget';
    if (target === 'lease taken over after the marker') return 'stopped when the lease was lost';
    if (target === 'unreachable provider') return 'retried, then failed';
    return faultedCalls > 1 ? 'retried, then failed' : 'failed fast';
  }
  if (
    target === 'crash after the refresh token was spent' &&
    world.paypack.reusedRefreshTokens.length === 0
  ) {
    return 'authorized; the spent token was not presented again';
  }
  const last = (route: string) => world.paypack.server.callsTo(route).at(-1);
  if (testCase.setup.target === 'provider' && testCase.setup.route.startsWith('refresh')) {
    if (
      last('refresh-docs')?.status === 200 &&
      (last('refresh-docs')?.at ?? 0) >= (last('authorize')?.at ?? 0)
    ) {
      return 'fell back to the docs path';
    }
    return 'fell back to authorize';
  }
  return faultedCalls > 1 ? 'retried, then succeeded' : 'refreshed';
}

function sandboxFor(world: World, testCase: FaultCase) {
  return { paypack: world.paypack, papaya: world.papaya, oauth2: world.oauth2 }[testCase.provider];
}

function safeJson(text: string): Record<string, string> {
  try {
    const parsed = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}
