import { spawn } from 'node:child_process';
import { createLockTable, putSecret } from '../../test/support/aws.ts';
import type { World } from '../../test/support/world.ts';
import { type BundleSize, buildBundle } from '../bundle-report.ts';

export interface ColdStartRow {
  name: string;
  bundle: BundleSize;
  importMs: number;
  invokeMs: number;
  /** A second invocation in the same process: warm, and for our handlers on the fresh path. */
  warmMs: number;
  totalMs: number;
  samples: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

function coldStart(
  bundle: string,
  event: unknown,
  env: Record<string, string>,
): Promise<{ importMs: number; invokeMs: number; warmMs: number; ok: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['scripts/bench/cold-start-child.mjs', bundle, JSON.stringify(event)],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    child.on('exit', () => {
      const line = out.split('\n').find((text) => text.startsWith('BENCH '));
      if (!line) return reject(new Error(`no result from ${bundle}`));
      resolve(JSON.parse(line.slice(6)));
    });
  });
}

/**
 * Part 1: each handler bundle against the minimal reference, both doing a full
 * refresh (read, credentials, provider call, write) as their first invocation in
 * a fresh Node process, against moto and the sandbox. Samples alternate.
 */
export async function benchColdStarts(world: World, samples: number): Promise<ColdStartRow[]> {
  const bundles = {
    reference: await buildBundle('reference', 'bench/reference-handler.ts', 'dist/bench/reference.mjs'),
    papaya: await buildBundle('papaya', 'lambda/handlers/papaya.ts', 'dist/bench/papaya.mjs'),
    paypack: await buildBundle('paypack', 'lambda/handlers/paypack.ts', 'dist/bench/paypack.mjs'),
  };
  await createLockTable(world.aws.dynamodb, 'bench-locks');
  const awsEnv = {
    AWS_ENDPOINT_URL: world.moto.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    POWERTOOLS_METRICS_NAMESPACE: 'Bench',
  };
  const timings: Record<keyof typeof bundles, { importMs: number; invokeMs: number; warmMs: number }[]> = {
    reference: [],
    papaya: [],
    paypack: [],
  };
  for (let sample = 0; sample < samples; sample++) {
    const papaya = await world.papayaSource({ id: `bench-papaya-${sample}` });
    const reference = await world.papayaSource({ id: `bench-reference-${sample}` });
    const paypack = await world.paypackSource({ id: `bench-paypack-${sample}` });
    await putSecret(world.aws.secretsManager, `bench-placeholder-${sample}`, '{}');
    const runs: [keyof typeof bundles, unknown, Record<string, string>][] = [
      [
        'reference',
        {
          parameterName: reference.parameterName,
          secretId: reference.secretId,
          tokenUrl: `${world.papayaUrl}/token`,
        },
        {},
      ],
      ['papaya', { sources: [papaya] }, {}],
      ['paypack', { sources: [paypack] }, { REFRESHER_LOCK_TABLE: 'bench-locks' }],
    ];
    for (const [name, event, env] of runs) {
      const result = await coldStart(bundles[name].file, event, { ...awsEnv, ...env });
      if (!result.ok) throw new Error(`${name} handler failed during the benchmark`);
      timings[name].push(result);
    }
  }
  return (Object.keys(bundles) as (keyof typeof bundles)[]).map((name) => {
    const importMs = median(timings[name].map((t) => t.importMs));
    const invokeMs = median(timings[name].map((t) => t.invokeMs));
    return {
      name,
      bundle: bundles[name],
      importMs,
      invokeMs,
      warmMs: median(timings[name].map((t) => t.warmMs)),
      totalMs: median(timings[name].map((t) => t.importMs + t.invokeMs)),
      samples,
    };
  });
}
