import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import { createLockTable } from '../../test/support/aws.ts';
import type { World } from '../../test/support/world.ts';

export interface WaveResult {
  wallMs: number;
  /** Median and 95th percentile of single invocations. */
  invocationP50Ms: number;
  invocationP95Ms: number;
  perSource: {
    providerCalls: number;
    ssmReads: number;
    ssmWrites: number;
    secretReads: number;
    dynamodbWrites: number;
  };
  failed: number;
  outcomes: Record<string, number>;
  /** Bytes of structured logs and EMF metrics written per invocation. */
  logBytesPerRun: number;
}

export interface FleetResult {
  sources: number;
  containers: number;
  writesPerSecondPerContainer: number | undefined;
  setupMs: number;
  due: WaveResult;
  fresh: WaveResult;
  peakRssMiB: number;
  peakHeapMiB: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/**
 * Part 3: a fleet of Paypack sources, one invocation per source as the per-source
 * schedules deliver them, spread over `containers` warm handler instances (Lambda
 * concurrency), with the refresh lock, against the sandbox and moto. One wave
 * when every token is due, one when every token is fresh.
 */
export async function benchFleet(
  world: World,
  size: number,
  containers: number,
  writesPerSecond?: number,
): Promise<FleetResult> {
  const setupStarted = Date.now();
  await createLockTable(world.aws.dynamodb, 'fleet-locks');
  const sources: SourceDefinition[] = [];
  for (let index = 0; index < size; index++) {
    sources.push(await world.paypackSource({ id: `merchant-${String(index + 1).padStart(4, '0')}` }));
  }
  const setupMs = Date.now() - setupStarted;
  const env: Record<string, string> = {
    REFRESHER_LOCK_TABLE: 'fleet-locks',
    REFRESHER_METRICS_PER_SOURCE: 'false',
  };
  if (writesPerSecond) env.REFRESHER_SSM_WRITES_PER_SECOND = String(writesPerSecond);
  const handlers = Array.from({ length: containers }, () => world.handler({ env }));

  let peakRss = 0;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 25);

  const wave = async (): Promise<WaveResult> => {
    const calls = (operation: string) => world.awsFaults.calls.get(operation) ?? 0;
    const before = {
      provider: world.paypack.server.calls.length,
      reads: calls('GetParameter'),
      writes: calls('PutParameter'),
      secrets: calls('GetSecretValue'),
      dynamodb: calls('PutItem') + calls('UpdateItem'),
    };
    const linesBefore = world.capture.lines.length;
    const queue = [...sources];
    const durations: number[] = [];
    const outcomes: Record<string, number> = {};
    let failed = 0;
    const started = Date.now();
    await Promise.all(
      handlers.map(async (handler) => {
        for (let source = queue.shift(); source; source = queue.shift()) {
          const invoked = Date.now();
          try {
            const { outcomes: [outcome] = [] } = await handler({ sources: [source] });
            if (outcome) outcomes[outcome.status] = (outcomes[outcome.status] ?? 0) + 1;
          } catch {
            failed += 1;
          }
          durations.push(Date.now() - invoked);
        }
      }),
    );
    const wallMs = Date.now() - started;
    const per = (count: number) => count / sources.length;
    return {
      wallMs,
      invocationP50Ms: percentile(durations, 50),
      invocationP95Ms: percentile(durations, 95),
      perSource: {
        providerCalls: per(world.paypack.server.calls.length - before.provider),
        ssmReads: per(calls('GetParameter') - before.reads),
        ssmWrites: per(calls('PutParameter') - before.writes),
        secretReads: per(calls('GetSecretValue') - before.secrets),
        dynamodbWrites: per(calls('PutItem') + calls('UpdateItem') - before.dynamodb),
      },
      failed,
      outcomes,
      logBytesPerRun:
        world.capture.lines.slice(linesBefore).reduce((sum, line) => sum + compactBytes(line), 0) /
        sources.length,
    };
  };

  try {
    const due = await wave();
    const fresh = await wave();
    return {
      sources: size,
      containers,
      writesPerSecondPerContainer: writesPerSecond,
      setupMs,
      due,
      fresh,
      peakRssMiB: peakRss / 1024 / 1024,
      peakHeapMiB: peakHeap / 1024 / 1024,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Captured lines are pretty-printed (Powertools dev mode); Lambda writes them as one compact JSON line each. */
function compactBytes(line: string): number {
  try {
    return Buffer.byteLength(JSON.stringify(JSON.parse(line))) + 1;
  } catch {
    return Buffer.byteLength(line) + 1;
  }
}
