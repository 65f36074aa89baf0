/**
 * `npm run bench`: performance, scale and cost, side by side in one run on this
 * machine, written with the machine and date to docs/performance.md.
 *   1. handler bundles and cold starts next to a minimal reference handler;
 *   2. SSM reads per warm consumer per hour: our helper next to Powertools Parameters;
 *   3. a fleet of Paypack sources: one refresh wave when due, one when fresh;
 *   4. monthly cost for the default deployment and for the fleet.
 * Flags: --samples N (cold starts per handler, default 7), --fleet N (default 1000),
 * --containers N (default 50), --write-rate N (SSM writes/s per container, default unpaced).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { World } from '../../test/support/world.ts';
import { kib } from '../bundle-report.ts';
import { benchColdStarts } from './cold-start.ts';
import { benchConsumerReads } from './consumer-reads.ts';
import { monthlyCost, PRICES_USD, type Scenario } from './cost-model.ts';
import { benchFleet } from './fleet.ts';

const { values } = parseArgs({
  options: {
    samples: { type: 'string' },
    fleet: { type: 'string' },
    containers: { type: 'string' },
    'write-rate': { type: 'string' },
  },
});
const samples = Number(values.samples ?? 11);
const fleetSize = Number(values.fleet ?? 1000);
const containers = Number(values.containers ?? 50);
const writeRate = values['write-rate'] ? Number(values['write-rate']) : undefined;
const out = (text: string) => process.stdout.write(`${text}\n`);
const ms = (value: number) => `${value.toFixed(0)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

const started = Date.now();
const world = await World.start();
let document = '';
try {
  out('1/4 cold starts…');
  const cold = await benchColdStarts(world, samples);
  const reference = cold.find((row) => row.name === 'reference');
  if (!reference) throw new Error('no reference row');
  const part1 = [
    '| handler | minified ESM | gzipped | size vs reference | import | first invocation | import + first invocation | time vs reference | warm second invocation |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...cold.map(
      (row) =>
        `| ${row.name} | ${kib(row.bundle.bytes)} | ${kib(row.bundle.gzipBytes)} | ${ratio(row.bundle.bytes, reference.bundle.bytes)} | ${ms(row.importMs)} | ${ms(row.invokeMs)} | ${ms(row.totalMs)} | ${ratio(row.totalMs, reference.totalMs)} | ${row.name === 'reference' ? '—' : `${ms(row.warmMs)} (fresh)`} |`,
    ),
  ].join('\n');
  const paypackCold = cold.find((row) => row.name === 'paypack');
  const paypackBundle = paypackCold?.bundle;
  const contributors = (paypackBundle?.packages ?? [])
    .slice(0, 12)
    .map(([name, bytes]) => `${name} ${kib(bytes)}`)
    .join(', ');
  out(part1);

  out('2/4 consumer reads…');
  const reads = await benchConsumerReads(world);
  const part2 = [
    '| consumer | SSM GetParameter calls per hour | expired tokens served |',
    '| --- | --- | --- |',
    `| our \`getToken\` (cached until 60 s before \`expiresAt\`) | ${reads.ours.reads} | ${reads.ours.expiredServed} |`,
    `| Powertools Parameters \`SSMProvider.get\` (default ${reads.powertools.maxAgeSeconds} s cache) | ${reads.powertools.reads} | ${reads.powertools.expiredServed} |`,
    `| ratio | ${(reads.powertools.reads / Math.max(1, reads.ours.reads)).toFixed(0)}× fewer reads | |`,
  ].join('\n');
  out(part2);

  out(`3/4 fleet of ${fleetSize}…`);
  const fleet = await benchFleet(world, fleetSize, containers, writeRate);
  const waveRow = (name: string, wave: typeof fleet.due) =>
    `| ${name} | ${(wave.wallMs / 1000).toFixed(1)} s | ${ms(wave.invocationP50Ms)} / ${ms(wave.invocationP95Ms)} | ${wave.perSource.providerCalls} | ${wave.perSource.ssmReads} | ${wave.perSource.ssmWrites} | ${wave.perSource.secretReads} | ${wave.perSource.dynamodbWrites} | ${JSON.stringify(wave.outcomes).replace(/[{}"]/g, '')}${wave.failed ? `, ${wave.failed} failed` : ''} |`;
  const part3 = [
    '| wave | wall time | invocation p50 / p95 | provider calls per source | SSM reads | SSM writes | secret reads | DynamoDB writes | outcomes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    waveRow('every token due', fleet.due),
    waveRow('every token fresh', fleet.fresh),
  ].join('\n');
  out(part3);

  out('4/4 cost model…');
  const paypackRun = {
    refreshShare: 0.5,
    // Durations from the uncontended cold-start runs (a due first invocation, with client start-up, and a
    // warm fresh one); the fleet wave's are inflated by moto serving 50 containers one call at a time.
    freshRun: {
      ssmReads: fleet.fresh.perSource.ssmReads,
      durationMs: paypackCold?.warmMs ?? fleet.fresh.invocationP50Ms,
    },
    dueRun: {
      ssmReads: fleet.due.perSource.ssmReads,
      ssmWrites: fleet.due.perSource.ssmWrites,
      dynamodbWrites: fleet.due.perSource.dynamodbWrites,
      durationMs: paypackCold?.invokeMs ?? fleet.due.invocationP50Ms,
    },
    logBytesPerRun: (fleet.due.logBytesPerRun + fleet.fresh.logBytesPerRun) / 2,
  };
  // Papaya keeps no private state: one read and one write fewer than Paypack on a refresh.
  const papayaRun = {
    ...paypackRun,
    refreshShare: 1 / 12,
    dueRun: {
      ...paypackRun.dueRun,
      ssmReads: paypackRun.dueRun.ssmReads - 1,
      ssmWrites: paypackRun.dueRun.ssmWrites - 1,
    },
  };
  const scenarios: Scenario[] = [
    {
      name: 'default deployment: 1 Paypack + 1 Papaya source',
      sources: [
        { count: 1, periodMinutes: 4, run: paypackRun },
        { count: 1, periodMinutes: 60, run: papayaRun },
      ],
      providers: 2,
      perSourceAlarms: true,
      ssmHigherThroughput: false,
      memoryGb: 0.25,
    },
    {
      name: `${fleetSize} Paypack sources (per-source alarms off, SSM higher throughput)`,
      sources: [{ count: fleetSize, periodMinutes: 4, run: paypackRun }],
      providers: 1,
      perSourceAlarms: false,
      ssmHigherThroughput: true,
      memoryGb: 0.25,
    },
  ];
  const part4 = scenarios
    .map((scenario) => {
      const { lines, total } = monthlyCost(scenario);
      return [
        `**${scenario.name}**: $${total.toFixed(2)} a month`,
        '',
        '| item | USD / month |',
        '| --- | --- |',
        ...lines.map((line) => `| ${line.item} | ${line.usd.toFixed(2)} |`),
      ].join('\n');
    })
    .join('\n\n');
  out(part4);

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
  document = `# Performance, scale and cost

Generated by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, ${machine}, in ${((Date.now() - started) / 1000).toFixed(0)} s.
AWS is moto (\`moto_server\`) and the providers are the local sandboxes, so absolute latencies are this
machine's and moto's, not AWS's; the comparisons are like for like.

## 1. Handler bundles and cold starts, next to a minimal reference

Each row: the bundle as it ships (esbuild, ESM, minified, AWS SDK included), and the median of ${samples}
fresh Node processes that import it and invoke it once on the refresh path (read the published value,
read the credentials, call the provider, write the token) against moto and the sandbox. The reference
(\`bench/reference-handler.ts\`) imports only the SSM and Secrets Manager clients and makes the same calls,
with no validation, logging, metrics or lock. \`paypack\` also takes and releases the DynamoDB lease and
reads and writes the refresh-token parameter, so it does more I/O than the other two.

${part1}

Largest contributors to the paypack bundle: ${contributors}.

## 2. SSM reads of a warm consumer

One container serving 10 requests/s for a simulated hour (${reads.requests.toLocaleString('en')} requests), each asking for a
Paypack token, while the refresher publishes on the production schedule (every 4 min, refresh under
10 min left, 15-minute tokens). Same parameter, same moto; only \`Date\` is simulated.

${part2}

## 3. A fleet of ${fleetSize} Paypack sources

One invocation per source, as the per-source schedules deliver them, over ${containers} warm handler
instances (Lambda's concurrency), with the DynamoDB lock and ${writeRate ? `SSM writes paced at ${writeRate}/s per container` : 'unpaced SSM writes (set REFRESHER_SSM_WRITES_PER_SECOND to pace them)'}; then again when
every token is fresh. Setup (credentials for ${fleetSize} applications) took ${(fleet.setupMs / 1000).toFixed(1)} s and is not counted.
Peak memory of the benchmark process (sandbox and all handler instances): RSS ${fleet.peakRssMiB.toFixed(0)} MiB, heap ${fleet.peakHeapMiB.toFixed(0)} MiB.

${part3}

A due Paypack source costs exactly one provider call. Its SSM traffic is three reads (the published
token; the same again after taking the lease, so a run that waited for another never refreshes twice;
the refresh token) and two writes (the refresh token, then the token), plus two DynamoDB writes (take the
lease; release it with the run's result, which \`npm run status\` shows). A fresh source costs one SSM read and nothing else. Wall time here is bound by moto,
which serves AWS calls one at a time.

## 4. Monthly cost

From the measured calls per run above, the share of runs that refresh (Paypack: every second run on
its schedule; Papaya: one in 12, as in the freshness simulation), the measured invocation durations (part 1: a due first invocation with
client start-up, and a warm fresh one; against moto, so pessimistic)
and AWS list prices for us-east-1 (${Object.entries(PRICES_USD)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ')}). No free tier is deducted. Consumers' own reads are theirs to pay.

${part4}
`;
} finally {
  await world.stop();
}
mkdirSync('docs', { recursive: true });
writeFileSync('docs/performance.md', document);
out('Written to docs/performance.md');
