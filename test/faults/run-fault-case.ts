import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { putSecret, readParameter } from '../support/aws.ts';
import { findLeaks } from '../support/capture.ts';
import { freePort } from '../support/moto.ts';
import type { World } from '../support/world.ts';
import type { Behaviour, FaultCase } from './fault-cases.ts';

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

  const { counter, runSource } = await applyFault(world, testCase, source);
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
      try {
        outcome = (await world.handler()({ sources: [runSource], force: true })).outcomes[0];
      } catch (error) {
        world.capture.record(error);
        outcome = (error as { outcomes?: SourceOutcome[] }).outcomes?.[0];
        if (!outcome) errorText = (error as Error).message;
      }
      world.capture.record(outcome);
      if (outcome?.status === 'failed') errorText = outcome.error.message;
    }
  } finally {
    world.paypack.server.clearFaults();
    world.papaya.server.clearFaults();
    world.oauth2.server.clearFaults();
    world.awsFaults.clear();
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
  switch (setup.target) {
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
  return { counter, runSource };
}

function observeBehaviour(
  world: World,
  testCase: FaultCase,
  outcome: SourceOutcome | undefined,
  faultedCalls: number,
): Behaviour | 'refreshed' {
  if (outcome?.status === 'failed') {
    if (testCase.setup.target === 'unreachable provider') return 'retried, then failed';
    return faultedCalls > 1 ? 'retried, then failed' : 'failed fast';
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
