/**
 * `npm start`: runs the real refresh handler on a schedule and shows a live table.
 *
 * Default (no arguments): starts moto and both provider sandboxes on loopback,
 * creates demo credentials, and runs one Paypack and one Papaya source on a clock
 * 60x faster than real time. With `--config file.json` it uses your sources,
 * your AWS account (or AWS_ENDPOINT_URL) and the real clock instead.
 *
 * Flags: --duration <s> stop after s wall-clock seconds; --speed <n> clock speed
 * for the embedded default; --config <file> sources and schedule to run; --help.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import {
  clearForcedRefreshes,
  clearLocalState,
  forcedRefreshesSince,
  LOCAL_DIR,
  LOG_FILE,
  writeLocalState,
} from './local/state.ts';
import { renderTable, type SourceRow, TABLE_LEGEND } from './local/status-table.ts';
import { parseCommandLine } from './ops/cli.ts';

/**
 * The fastest clock the demo stays correct at. Its Paypack source runs every 240 s with a 600 s
 * threshold: after one failed run the next finds 600 − 2 × 240 = 120 s left, of which consumers keep
 * 60 s, so a run may take at most 60 simulated seconds. A local run (moto and a sandbox on loopback)
 * takes up to about 100 ms of wall time: 600× turns that into the whole 60 s.
 */
const DEMO_SLACK_SECONDS = 60;
const ASSUMED_RUN_MS = 100;
const MAX_SPEED_FOR_DEMO = (DEMO_SLACK_SECONDS * 1000) / ASSUMED_RUN_MS;

interface ScheduledSource {
  definition: SourceDefinition & { id: string; provider: string };
  /** Simulated seconds between scheduled runs. */
  periodSeconds: number;
}

const USAGE = `
npm start -- [--speed <n>] [--duration <s>] [--config <file>] [--help]

Runs the real refresh handler on a schedule and shows a live table.
  (no flags)        the embedded demo: moto, the Paypack and Papaya sandboxes on loopback,
                    one source each, on a clock 60 times faster than real time
  --speed <n>       clock speed of the embedded demo, 1 to ${MAX_SPEED_FOR_DEMO} (faster, one slow run could
                    outlast the schedule's slack and let a token expire)
  --duration <s>    stop after s wall-clock seconds (default: until Ctrl-C)
  --config <file>   your sources and schedule ({ "sources": [...], "schedule": { "<id>": seconds } })
                    against your AWS account (or AWS_ENDPOINT_URL), on the real clock
While it runs: npm run status, npm run refresh -- <source id> (forced refreshes show in the table).
`;

async function main(): Promise<number> {
  const { values: flags } = parseCommandLine('npm start', USAGE, {
    duration: { type: 'string' },
    speed: { type: 'string' },
    config: { type: 'string' },
  });
  const values = flags as { duration?: string; speed?: string; config?: string };
  const durationMs = values.duration ? Number(values.duration) * 1000 : undefined;
  if (durationMs !== undefined && !(durationMs > 0))
    throw new Error('--duration must be a positive number of seconds');
  if (values.config !== undefined && values.speed !== undefined) {
    throw new Error('--speed applies to the embedded demo only; with --config the real clock is used');
  }

  mkdirSync(LOCAL_DIR, { recursive: true });
  writeFileSync(LOG_FILE, '');
  routeConsoleToLogFile();

  const embedded = values.config === undefined;
  const clock = new AcceleratedClock(embedded ? Number(values.speed ?? 60) : 1);
  if (!(clock.speed >= 1 && clock.speed <= MAX_SPEED_FOR_DEMO)) {
    throw new Error(
      `--speed must be between 1 and ${MAX_SPEED_FOR_DEMO}: faster, a ${ASSUMED_RUN_MS} ms run would span more than the ${DEMO_SLACK_SECONDS} s the demo's Paypack schedule leaves between a failed run and expiry`,
    );
  }
  clearForcedRefreshes();

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
    out(
      `tokens: ${world.sources.map((entry) => entry.definition.parameterName).join(', ')}\n` +
        `to read them from your own function: AWS_ENDPOINT_URL=${world.motoEndpoint} (region ${world.region}, any credentials)\n`,
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
  const record = (outcome: SourceOutcome, forced = false) => {
    const row = rows.get(outcome.sourceId);
    if (!row) return;
    row.state = outcome.status;
    if (outcome.expiresAt) row.expiresAt = outcome.expiresAt;
    if (outcome.status === 'refreshed') row.refreshes += 1;
    const at = new Date(clock.now()).toISOString().slice(11, 19);
    const wallClock = new Date().toISOString().slice(11, 19);
    const how = forced ? ' (forced)' : '';
    row.lastResult =
      outcome.status === 'failed' ? `${at} ${outcome.error.message}${how}` : `${at} ${outcome.status}${how}`;
    // A log line starts with the real time; the demo's clock is labelled as simulated wherever it appears.
    if (!process.stdout.isTTY)
      out(
        `${wallClock} [simulated ${at}] ${outcome.sourceId} ${outcome.status}${how}${outcome.expiresAt ? `, expires at simulated ${outcome.expiresAt}` : ''}\n`,
      );
  };
  let forcedSeen = 0;
  const collectForced = () => {
    const forced = forcedRefreshesSince(forcedSeen);
    forcedSeen = forced.seen;
    for (const outcome of forced.outcomes) record(outcome, true);
  };

  const inFlight = new Set<Promise<void>>();
  const track = (running: Promise<void>) => {
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  };
  const run = async (sourceId: string) => {
    const startedAt = Date.now();
    try {
      const { outcomes } = await handler({ sourceIds: [sourceId] }, lambdaContext(sourceId));
      for (const outcome of outcomes) record(outcome);
    } catch (error) {
      const outcomes = (error as { outcomes?: SourceOutcome[] }).outcomes;
      if (outcomes) for (const outcome of outcomes) record(outcome);
      else
        record({
          sourceId,
          provider: '?',
          status: 'failed',
          error: { code: 'UNEXPECTED', message: String((error as Error).message) },
        });
    }
    // The --speed bound assumes a run takes at most ASSUMED_RUN_MS: say so when one did not.
    const simulatedSeconds = ((Date.now() - startedAt) / 1000) * clock.speed;
    const row = rows.get(sourceId);
    if (embedded && row && simulatedSeconds > DEMO_SLACK_SECONDS) {
      row.lastResult += ` (run took ${Math.round(simulatedSeconds)} s simulated: lower --speed)`;
    }
  };

  const timers = scheduled.map(({ definition, periodSeconds }) => {
    const scheduledRun = () => {
      const row = rows.get(definition.id);
      if (row) row.nextRunAt = clock.now() + periodSeconds * 1000;
      track(run(definition.id));
    };
    scheduledRun();
    return setInterval(scheduledRun, clock.realMs(periodSeconds));
  });
  const draw = () => {
    collectForced();
    if (!process.stdout.isTTY) return;
    const header = `token-refresher local mode, clock x${clock.speed}, simulated time ${new Date(clock.now()).toISOString()}  (logs: ${LOG_FILE}, Ctrl-C to stop)`;
    out(`\x1b[H\x1b[J${header}\n\n${renderTable([...rows.values()], clock.now())}\n\n${TABLE_LEGEND}\n`);
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
  clearForcedRefreshes();
  await stopWorld();
  out(`\n${renderTable([...rows.values()], clock.now())}\n${TABLE_LEGEND}\n`);
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
