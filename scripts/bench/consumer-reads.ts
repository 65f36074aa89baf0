import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import FakeTimers from '@sinonjs/fake-timers';
import { serializePublishedToken } from '../../lambda/token-contract.ts';
import { TokenReader, TokenUnavailableError } from '../../packages/client/src/get-token.ts';
import { World } from '../../test/support/world.ts';
import { isMainModule } from '../main-module.ts';

/**
 * Part 2 of `npm run bench`: what consumers' reads cost, and what they serve.
 * One warm container serving `requestsPerSecond` for a simulated hour, each
 * request asking for the Paypack token, while the refresher publishes on the
 * production schedule (every 4 min, refresh under 10 min left, 15-minute
 * tokens): once in a normal hour, once through a 20-minute Paypack outage in
 * which no run can refresh, so the published token expires. Every consumer
 * reads the same parameter from moto through its own counting SSM client; only
 * Date is simulated.
 */

export interface ConsumerRow {
  consumer: string;
  /** SSM GetParameter calls. */
  reads: number;
  /** Requests given a token whose expiresAt had passed. */
  expiredServed: number;
  /** Requests given no token (the reader refused: no usable token was published). */
  refused: number;
}

export interface ConsumerScenario {
  name: string;
  rows: ConsumerRow[];
}

export interface ConsumerReadsResult {
  requests: number;
  simulatedHours: number;
  /** Normal hour, `getToken` (kept for the summary in scripts/bench/index.ts). */
  ours: { reads: number; expiredServed: number };
  /** Normal hour, Powertools Parameters with its default 5 s cache. */
  powertools: { reads: number; expiredServed: number; maxAgeSeconds: number };
  scenarios: ConsumerScenario[];
  /** The frontier as a Markdown table, both scenarios side by side. */
  table: string;
}

const MINUTE = 60_000;
const PERIOD = 4 * MINUTE;
const THRESHOLD = 10 * MINUTE;
const LIFETIME = 15 * MINUTE;
const OUTAGE = { from: 20 * MINUTE, until: 40 * MINUTE };
const EXTENSION_TTL_SECONDS = 300;
const SAFE_MARGIN_MS = 60_000;
const RECHECK_MS = 5_000;
const MINIMUM_LIFE_MS = 5_000;

/** An SSM client pointed at moto that counts its GetParameter calls. */
function countingClient(endpoint: string): { client: SSMClient; reads: () => number } {
  let reads = 0;
  const client = new SSMClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetParameterCommand') reads += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countReads' },
  );
  return { client, reads: () => reads };
}

/** What one consumer does per request: the token's expiresAt, or undefined when it refuses to give one. */
type Consumer = (name: string) => Promise<string | undefined>;

/**
 * The Parameters and Secrets Lambda Extension, modelled: a fixed-TTL cache of the
 * raw value in front of the same SSM (the extension's cache keeps a value for
 * SSM_PARAMETER_STORE_TTL seconds, whatever the token inside says).
 */
function extensionCache(ssm: SSMClient, ttlSeconds: number) {
  let cached: { value: string; fetchedAt: number } | undefined;
  return {
    async get(name: string, bypass = false): Promise<string> {
      if (!bypass && cached && Date.now() - cached.fetchedAt < ttlSeconds * 1000) return cached.value;
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      const value = Parameter?.Value ?? '';
      if (!bypass) cached = { value, fetchedAt: Date.now() };
      return value;
    },
  };
}

const expiresAtOf = (value: string) => (JSON.parse(value) as { expiresAt: string }).expiresAt;

function consumers(
  endpoint: string,
): { name: string; read: Consumer; reads: () => number; close: () => void }[] {
  const made: { name: string; read: Consumer; reads: () => number; close: () => void }[] = [];
  const add = (name: string, build: (ssm: SSMClient) => Consumer) => {
    const counting = countingClient(endpoint);
    made.push({
      name,
      read: build(counting.client),
      reads: counting.reads,
      close: () => counting.client.destroy(),
    });
  };
  add('`getToken` (cached until 60 s before `expiresAt`)', (ssm) => {
    const reader = new TokenReader({ ssm });
    return async (name) => {
      try {
        return (await reader.getToken(name)).expiresAt;
      } catch (error) {
        if (error instanceof TokenUnavailableError) return undefined;
        throw error;
      }
    };
  });
  for (const maxAge of [5, 60, 300, 900]) {
    add(`Powertools \`getParameter\`, \`maxAge\` ${maxAge} s${maxAge === 5 ? ' (default)' : ''}`, (ssm) => {
      const provider = new SSMProvider({ awsSdkV3Client: ssm });
      return async (name) => expiresAtOf((await provider.get(name, { decrypt: true, maxAge })) as string);
    });
  }
  add(`Parameters and Secrets Extension, TTL ${EXTENSION_TTL_SECONDS} s (modelled)`, (ssm) => {
    const extension = extensionCache(ssm, EXTENSION_TTL_SECONDS);
    return async (name) => expiresAtOf(await extension.get(name));
  });
  add(
    `Extension, TTL ${EXTENSION_TTL_SECONDS} s, with the \`expiresAt\` check of docs/consumers.md (modelled)`,
    (ssm) => {
      const extension = extensionCache(ssm, EXTENSION_TTL_SECONDS);
      const lifeLeft = (value: string) => Date.parse(expiresAtOf(value)) - Date.now();
      let direct: { value: string; readAt: number } | undefined;
      return async (name) => {
        let value = await extension.get(name);
        if (lifeLeft(value) < SAFE_MARGIN_MS) {
          // Under the margin: read SSM directly, at most every RECHECK_MS, and keep the longer-lived value.
          if (!direct || Date.now() - direct.readAt >= RECHECK_MS)
            direct = { value: await extension.get(name, true), readAt: Date.now() };
          if (lifeLeft(direct.value) > lifeLeft(value)) value = direct.value;
        }
        return lifeLeft(value) < MINIMUM_LIFE_MS ? undefined : expiresAtOf(value);
      };
    },
  );
  return made;
}

async function runScenario(
  world: World,
  scenario: { name: string; parameter: string; outage: boolean },
  requestsPerSecond: number,
  simulatedHours: number,
): Promise<ConsumerScenario> {
  const start = Date.parse('2026-03-02T00:00:00Z');
  const clock = FakeTimers.install({ now: start, toFake: ['Date'] });
  const readers = consumers(world.moto.endpoint);
  try {
    let expiresAt = 0;
    let nextRun = start;
    const publishIfDue = async (now: number) => {
      while (nextRun <= now) {
        const inOutage = scenario.outage && nextRun - start >= OUTAGE.from && nextRun - start < OUTAGE.until;
        if (expiresAt - nextRun <= THRESHOLD && !inOutage) {
          expiresAt = nextRun + LIFETIME;
          await world.aws.ssm.send(
            new PutParameterCommand({
              Name: scenario.parameter,
              Type: 'SecureString',
              Overwrite: true,
              Value: serializePublishedToken({
                token: `bench-token-${nextRun}`,
                tokenType: 'Bearer',
                expiresAt: new Date(expiresAt).toISOString(),
                issuedAt: new Date(nextRun).toISOString(),
                provider: 'paypack',
                source: 'bench',
              }),
            }),
          );
        }
        nextRun += PERIOD;
      }
    };

    const tallies = readers.map(() => ({ expiredServed: 0, refused: 0 }));
    const requests = Math.round(requestsPerSecond * 3600 * simulatedHours);
    for (let index = 0; index < requests; index++) {
      const now = start + Math.floor((index * 1000) / requestsPerSecond);
      await publishIfDue(now);
      clock.setSystemTime(now);
      for (const [position, consumer] of readers.entries()) {
        const tally = tallies[position] as { expiredServed: number; refused: number };
        const served = await consumer.read(scenario.parameter);
        if (served === undefined) tally.refused += 1;
        else if (Date.parse(served) <= now) tally.expiredServed += 1;
      }
    }
    return {
      name: scenario.name,
      rows: readers.map((consumer, position) => ({
        consumer: consumer.name,
        reads: consumer.reads(),
        ...(tallies[position] as { expiredServed: number; refused: number }),
      })),
    };
  } finally {
    for (const consumer of readers) consumer.close();
    clock.uninstall();
  }
}

function frontierTable(scenarios: ConsumerScenario[]): string {
  const [normal, outage] = scenarios;
  if (!normal || !outage) throw new Error('two scenarios expected');
  const number = (value: number) => value.toLocaleString('en');
  return [
    '| consumer | normal hour: SSM reads | normal hour: expired tokens served | outage hour: SSM reads | outage hour: expired tokens served | outage hour: requests refused |',
    '| --- | --- | --- | --- | --- | --- |',
    ...normal.rows.map((row, index) => {
      const during = outage.rows[index] as ConsumerRow;
      return `| ${row.consumer} | ${number(row.reads)} | ${number(row.expiredServed)} | ${number(during.reads)} | ${number(during.expiredServed)} | ${number(during.refused)} |`;
    }),
  ].join('\n');
}

export async function benchConsumerReads(
  world: World,
  requestsPerSecond = 10,
  simulatedHours = 1,
): Promise<ConsumerReadsResult> {
  const scenarios = [
    await runScenario(
      world,
      { name: 'normal hour', parameter: '/bench/consumer/normal', outage: false },
      requestsPerSecond,
      simulatedHours,
    ),
    await runScenario(
      world,
      { name: '20-minute Paypack outage', parameter: '/bench/consumer/outage', outage: true },
      requestsPerSecond,
      simulatedHours,
    ),
  ];
  const [ours, powertools] = scenarios[0]?.rows ?? [];
  if (!ours || !powertools) throw new Error('no consumer rows');
  return {
    requests: Math.round(requestsPerSecond * 3600 * simulatedHours),
    simulatedHours,
    ours: { reads: ours.reads, expiredServed: ours.expiredServed },
    powertools: { reads: powertools.reads, expiredServed: powertools.expiredServed, maxAgeSeconds: 5 },
    scenarios,
    table: frontierTable(scenarios),
  };
}

if (isMainModule(import.meta.url)) {
  const world = await World.start();
  try {
    const started = Date.now();
    const result = await benchConsumerReads(world);
    process.stdout.write(`${result.table}\n\n(${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  } finally {
    await world.stop();
  }
}
