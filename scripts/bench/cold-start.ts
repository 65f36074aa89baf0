import { spawn } from 'node:child_process';
import { createLockTable, putSecret } from '../../test/support/aws.ts';
import type { World } from '../../test/support/world.ts';
import { type BundleSize, buildBundle } from '../bundle-report.ts';

export interface ColdStartRow {
  name: string;
  bundle: BundleSize;
  /** Medians over the fresh processes. */
  importMs: number;
  invokeMs: number;
  /** A second invocation in the same process: warm, and for our handlers on the fresh path. */
  warmMs: number;
  totalMs: number;
  samples: number;
  node: string;
}

export interface ChildReport {
  node: string;
  importMs: number;
  invokeMs: number;
  warmMs: number;
  ok: boolean;
  errorName?: string;
  statuses?: string[];
}

/** What the benchmark runs: the yardstick, the yardstick plus Paypack's state I/O, and both handlers. */
export const BENCH_ENTRIES = {
  reference: 'bench/reference-handler.ts',
  'reference + Paypack state I/O': 'bench/reference-with-paypack-state.ts',
  papaya: 'lambda/handlers/papaya.ts',
  paypack: 'lambda/handlers/paypack.ts',
} as const;
export type BenchName = keyof typeof BENCH_ENTRIES;

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/** Imports `bundle` in a fresh Node process and invokes its handler twice; `nodePath` is the Node it runs on. */
export function coldStart(
  bundle: string,
  event: unknown,
  env: Record<string, string>,
  nodePath = process.execPath,
): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodePath, ['scripts/bench/cold-start-child.mjs', bundle, JSON.stringify(event)], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('exit', () => {
      const line = out.split('\n').find((text) => text.startsWith('BENCH '));
      if (!line) return reject(new Error(`no result from ${bundle}`));
      resolve(JSON.parse(line.slice(6)));
    });
  });
}

export function buildBenchBundles(outDir = 'dist/bench', overrides: { keepNames?: boolean } = {}) {
  return Promise.all(
    (Object.entries(BENCH_ENTRIES) as [BenchName, string][]).map(async ([name, entry]) => {
      const file = `${outDir}/${name.replace(/\W+/g, '-')}.mjs`;
      return [name, await buildBundle(name, entry, file, overrides)] as const;
    }),
  ).then((pairs) => Object.fromEntries(pairs) as Record<BenchName, BundleSize>);
}

/**
 * Part 1: each handler bundle against the reference, all built by infra/bundling.ts, each doing a
 * full refresh (read, credentials, provider call, write) as its first invocation in a fresh Node
 * process, against moto and the sandbox. Samples alternate between the bundles, so a slow moment
 * of the machine lands on all of them.
 */
export async function benchColdStarts(
  world: World,
  samples: number,
  options: { bundles?: Record<BenchName, BundleSize>; nodePath?: string; label?: string } = {},
): Promise<ColdStartRow[]> {
  const bundles = options.bundles ?? (await buildBenchBundles());
  const label = options.label ?? 'bench';
  const lockTable = `${label}-locks`;
  await createLockTable(world.aws.dynamodb, lockTable);
  const awsEnv = {
    AWS_ENDPOINT_URL: world.moto.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    POWERTOOLS_METRICS_NAMESPACE: 'Bench',
  };
  const names = Object.keys(bundles) as BenchName[];
  const timings = Object.fromEntries(names.map((name) => [name, [] as ChildReport[]])) as Record<
    BenchName,
    ChildReport[]
  >;
  // Sample -1 warms moto and the sandbox up (their first calls are slow) and is not counted.
  for (let sample = -1; sample < samples; sample++) {
    const tag = sample < 0 ? 'warmup' : String(sample);
    const reference = async (id: string) => {
      const source = await world.papayaSource({ id });
      return {
        parameterName: source.parameterName,
        secretId: source.secretId,
        tokenUrl: `${world.papayaUrl}/token`,
      };
    };
    const runs: Record<BenchName, () => Promise<[unknown, Record<string, string>]>> = {
      reference: async () => [await reference(`${label}-reference-${tag}`), {}],
      'reference + Paypack state I/O': async () => {
        const event = await reference(`${label}-reference-state-${tag}`);
        return [{ ...event, lockTable, stateParameterName: `${event.parameterName}/refresh-token` }, {}];
      },
      // Both handlers run as the CDK deploys them, with the lock table (Papaya takes the lease too).
      papaya: async () => [
        { sources: [await world.papayaSource({ id: `${label}-papaya-${tag}` })] },
        { REFRESHER_LOCK_TABLE: lockTable },
      ],
      paypack: async () => [
        { sources: [await world.paypackSource({ id: `${label}-paypack-${tag}` })] },
        { REFRESHER_LOCK_TABLE: lockTable },
      ],
    };
    await putSecret(world.aws.secretsManager, `${label}-placeholder-${tag}`, '{}');
    for (const name of names) {
      const [event, env] = await runs[name]();
      const result = await coldStart(bundles[name].file, event, { ...awsEnv, ...env }, options.nodePath);
      if (!result.ok) throw new Error(`${name} failed during the benchmark (${result.errorName})`);
      if (sample >= 0) timings[name].push(result);
    }
  }
  return names.map((name) => ({
    name,
    bundle: bundles[name],
    importMs: median(timings[name].map((t) => t.importMs)),
    invokeMs: median(timings[name].map((t) => t.invokeMs)),
    warmMs: median(timings[name].map((t) => t.warmMs)),
    totalMs: median(timings[name].map((t) => t.importMs + t.invokeMs)),
    samples,
    node: timings[name][0]?.node ?? 'unknown',
  }));
}
