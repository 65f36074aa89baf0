/**
 * `npm start`: runs the real refresh handler on a schedule and shows a live table.
 *
 * Default (no arguments): starts moto and both provider sandboxes on loopback,
 * creates demo credentials, and runs one Paypack and one Papaya source on a clock
 * 60x faster than real time. With `--config file.json` it uses your sources,
 * your AWS account (or AWS_ENDPOINT_URL) and the real clock instead.
 *
 * Flags: --duration <s> stop after s wall-clock seconds; --speed <n> clock speed
 * for the embedded default; --config <file> sources and schedule to run.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import type { SourceDefinition } from '../lambda/config/source-config.ts';
import { createRefreshHandler } from '../lambda/handlers/create-refresh-handler.ts';
import { providerFactories } from '../lambda/providers/index.ts';
import type { SourceOutcome } from '../lambda/refresh/refresh-source.ts';
import { AcceleratedClock } from './local/accelerated-clock.ts';
import { startEmbeddedWorld } from './local/embedded-world.ts';
import { clearLocalState, LOCAL_DIR, LOG_FILE, writeLocalState } from './local/state.ts';
import { renderTable, type SourceRow } from './local/status-table.ts';

interface ScheduledSource {
  definition: SourceDefinition & { id: string; provider: string };
  /** Simulated seconds between scheduled runs. */
  periodSeconds: number;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { duration: { type: 'string' }, speed: { type: 'string' }, config: { type: 'string' } },
  });
  const durationMs = values.duration ? Number(values.duration) * 1000 : undefined;
  if (durationMs !== undefined && !(durationMs > 0))
    throw new Error('--duration must be a positive number of seconds');

  mkdirSync(LOCAL_DIR, { recursive: true });
  writeFileSync(LOG_FILE, '');
  routeConsoleToLogFile();

  const embedded = values.config === undefined;
  const clock = new AcceleratedClock(embedded ? Number(values.speed ?? 60) : 1);
  if (!(clock.speed >= 1)) throw new Error('--speed must be 1 or more');

  let ssm: SSMClient;
  let secretsManager: SecretsManagerClient;
  let dynamodb: DynamoDBClient;
  let lockTable: string | undefined = process.env.REFRESHER_LOCK_TABLE;
  let scheduled: ScheduledSource[];
  let stopWorld = async () => {};
  let sensitiveValues = (): string[] => [];
  if (embedded) {
    const world = await startEmbeddedWorld(clock.now);
    ({ ssm, secretsManager, dynamodb } = world.clients);
    lockTable = world.lockTable;
    scheduled = world.sources;
    stopWorld = world.stop;
    sensitiveValues = world.sensitiveValues;
    writeLocalState({
      pid: process.pid,
      awsEndpoint: world.motoEndpoint,
      lockTable: world.lockTable,
      sources: world.sources.map((entry) => entry.definition),
      speed: clock.speed,
      clockStartedAt: clock.startedAt,
    });
    out(
      `moto on ${world.motoEndpoint}, Paypack sandbox on ${world.paypackUrl}, Papaya sandbox on ${world.papayaUrl}\n`,
    );
  } else {
    scheduled = readConfig(values.config ?? '');
    if (!lockTable && scheduled.some(({ definition }) => definition.provider === 'paypack')) {
      // A deployed refresher may be refreshing the same sources: without the shared lock both could
      // present one single-use refresh token.
      throw new Error(
        "set REFRESHER_LOCK_TABLE to the deployment's lock table before running Paypack sources against real AWS",
      );
    }
    ssm = new SSMClient({});
    secretsManager = new SecretsManagerClient({});
    dynamodb = new DynamoDBClient({});
  }

  const handler = createRefreshHandler({
    providers: Object.values(providerFactories).map((create) => create()),
    env: {
      REFRESHER_SOURCES: JSON.stringify(scheduled.map((entry) => entry.definition)),
      REFRESHER_DEPLOYMENT: 'local',
      ...(lockTable ? { REFRESHER_LOCK_TABLE: lockTable } : {}),
    },
    ssm,
    secretsManager,
    dynamodb,
    clock: clock.now,
    logger: new Logger({ serviceName: 'token-refresher-local' }),
  });

  const rows = new Map<string, SourceRow>(
    scheduled.map(({ definition }) => [
      definition.id,
      {
        source: definition.id,
        provider: definition.provider,
        state: 'pending',
        refreshes: 0,
        lastResult: '-',
      },
    ]),
  );
  const record = (outcome: SourceOutcome) => {
    const row = rows.get(outcome.sourceId);
    if (!row) return;
    row.state = outcome.status;
    if (outcome.expiresAt) row.expiresAt = outcome.expiresAt;
    if (outcome.status === 'refreshed') row.refreshes += 1;
    const at = new Date(clock.now()).toISOString().slice(11, 19);
    row.lastResult =
      outcome.status === 'failed' ? `${at} ${outcome.error.message}` : `${at} ${outcome.status}`;
    if (!process.stdout.isTTY)
      out(
        `${at} ${outcome.sourceId} ${outcome.status}${outcome.expiresAt ? ` expires ${outcome.expiresAt}` : ''}\n`,
      );
  };

  const inFlight = new Set<Promise<void>>();
  const track = (running: Promise<void>) => {
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  };
  const run = async (sourceId: string) => {
    try {
      const { outcomes } = await handler({ sourceIds: [sourceId] }, lambdaContext(sourceId));
      outcomes.forEach(record);
    } catch (error) {
      const outcomes = (error as { outcomes?: SourceOutcome[] }).outcomes;
      if (outcomes) outcomes.forEach(record);
      else
        record({
          sourceId,
          provider: '?',
          status: 'failed',
          error: { code: 'UNEXPECTED', message: String((error as Error).message) },
        });
    }
  };

  const timers = scheduled.map(({ definition, periodSeconds }) => {
    track(run(definition.id));
    return setInterval(() => track(run(definition.id)), clock.realMs(periodSeconds));
  });
  const draw = () => {
    if (!process.stdout.isTTY) return;
    const header = `token-refresher local mode, clock x${clock.speed}, simulated time ${new Date(clock.now()).toISOString()}  (logs: ${LOG_FILE}, Ctrl-C to stop)`;
    out(`\x1b[H\x1b[J${header}\n\n${renderTable([...rows.values()], clock.now())}\n`);
  };
  const drawTimer = setInterval(draw, 250);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    if (durationMs !== undefined) setTimeout(resolve, durationMs);
  });
  for (const timer of [...timers, drawTimer]) clearInterval(timer);
  // Let runs already under way finish before their AWS emulator and sandboxes go away.
  await Promise.allSettled(inFlight);
  draw();
  // Test hook: the local-mode test scans the screen and the log for every credential and token.
  if (process.env.LOCAL_MODE_SECRETS_FILE)
    writeFileSync(process.env.LOCAL_MODE_SECRETS_FILE, JSON.stringify(sensitiveValues()));
  clearLocalState();
  await stopWorld();
  out(`\n${renderTable([...rows.values()], clock.now())}\n`);
  const neverRefreshed = [...rows.values()].filter((row) => row.refreshes === 0);
  if (neverRefreshed.length > 0) {
    out(`no token was published for: ${neverRefreshed.map((row) => row.source).join(', ')}\n`);
    return 1;
  }
  return 0;
}

function readConfig(path: string): ScheduledSource[] {
  const config = JSON.parse(readFileSync(path, 'utf8')) as {
    sources?: SourceDefinition[];
    schedule?: Record<string, number>;
  };
  if (!Array.isArray(config.sources))
    throw new Error(`${path}: expected { "sources": [...], "schedule": { "<id>": seconds } }`);
  return config.sources.map((definition) => ({
    definition: definition as ScheduledSource['definition'],
    periodSeconds: config.schedule?.[String(definition.id)] ?? 240,
  }));
}

function lambdaContext(sourceId: string): Context {
  const deadline = Date.now() + 60_000;
  return {
    functionName: 'token-refresher-local',
    awsRequestId: `local-${sourceId}-${Date.now()}`,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  } as Context;
}

const writeOut = process.stdout.write.bind(process.stdout);
function out(text: string): void {
  writeOut(text);
}

/** Powertools writes through the console in dev mode; the console goes to a file so the table stays readable. */
function routeConsoleToLogFile(): void {
  process.env.POWERTOOLS_DEV = 'true';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    console[method] = (...args: unknown[]) => appendFileSync(LOG_FILE, `${args.map(String).join(' ')}\n`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`npm start failed: ${error.message}\n`);
    process.exit(1);
  },
);
