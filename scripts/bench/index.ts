/**
 * `npm run bench`: performance, scale and cost, side by side in one run on this
 * machine, written with the machine and date to docs/performance.md.
 *   1. handler bundles and cold starts next to a minimal reference handler;
 *   2. SSM reads per warm consumer per hour: our helper next to Powertools Parameters;
 *   3. a fleet of Paypack sources: one refresh wave when due, one when fresh;
 *   4. monthly cost for the default deployment and for the fleet.
 * Flags: --samples N (cold starts per handler, default 11, at least 11), --fleet N (default 1000),
 * --containers N (default 50), --write-rate N (SSM writes/s per container, default unpaced).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { ESBUILD_TARGET } from '../../infra/bundling.ts';
import { World } from '../../test/support/world.ts';
import { kib } from '../bundle-report.ts';
import { type BenchName, benchColdStarts, type ColdStartRow } from './cold-start.ts';
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
const samples = Math.max(11, Number(values.samples ?? 11));
const fleetSize = Number(values.fleet ?? 1000);
const containers = Number(values.containers ?? 50);
const writeRate = values['write-rate'] ? Number(values['write-rate']) : undefined;
const out = (text: string) => process.stdout.write(`${text}\n`);
const ms = (value: number) => `${value.toFixed(0)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
/** The issue's target for each handler against the reference, in bytes and in import + first invocation. */
const TARGET_RATIO = 1.15;

const started = Date.now();
const world = await World.start();
let document = '';
try {
  out('1/4 cold starts…');
  const cold = await benchColdStarts(world, samples);
  const row = (name: BenchName) => {
    const found = cold.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no ${name} row`);
    return found;
  };
  const reference = row('reference');
  const withState = row('reference + Paypack state I/O');
  const paypackCold = row('paypack');
  const papayaCold = row('papaya');
  const part1 = [
    '| bundle | minified ESM | gzipped | bytes vs reference | import | import vs reference | import + first invocation | vs reference | warm second invocation |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...cold.map(
      (row) =>
        `| ${row.name} | ${kib(row.bundle.bytes)} | ${kib(row.bundle.gzipBytes)} | ${ratio(row.bundle.bytes, reference.bundle.bytes)} | ${ms(row.importMs)} | ${ratio(row.importMs, reference.importMs)} | ${ms(row.totalMs)} | ${ratio(row.totalMs, reference.totalMs)} | ${row.name === 'papaya' || row.name === 'paypack' ? `${ms(row.warmMs)} (fresh)` : '—'} |`,
    ),
  ].join('\n');
  const target = (row: ColdStartRow) => {
    const bytes = row.bundle.bytes / reference.bundle.bytes;
    const time = row.totalMs / reference.totalMs;
    const verdict = (value: number) => `${value.toFixed(2)}× (${value <= TARGET_RATIO ? 'met' : 'not met'})`;
    return `| ${row.name} | ${verdict(bytes)} | ${verdict(time)} |`;
  };
  const stateIoMs = withState.totalMs - reference.totalMs;
  const part1Targets = [
    `| handler | bytes vs reference (target ≤ ${TARGET_RATIO}×) | import + first invocation vs reference (target ≤ ${TARGET_RATIO}×) |`,
    '| --- | --- | --- |',
    target(papayaCold),
    target(paypackCold),
  ].join('\n');
  const part1State = `Paypack's lease and refresh-token state (a DynamoDB lease taken and released, a second read of the published value, a read and a write of the refresh token, and the DynamoDB client they need) cost ${ms(stateIoMs)} of import + first invocation on their own: the reference plus only that I/O is ${ratio(withState.totalMs, reference.totalMs)} the reference in time and ${ratio(withState.bundle.bytes, reference.bundle.bytes)} in bytes. Against it, the Paypack handler is ${ratio(paypackCold.totalMs, withState.totalMs)} in time and ${ratio(paypackCold.bundle.bytes, withState.bundle.bytes)} in bytes; the remaining ${ms(paypackCold.totalMs - withState.totalMs)} is the handler's own work (validation, logs, metrics, the token probe before publishing, the write-ahead of the refresh token and the lease renewal around it).`;
  const extra = (handler: ColdStartRow, base: ColdStartRow) => {
    const baseBytes = new Map(base.bundle.packages);
    return handler.bundle.packages
      .map(([name, bytes]) => [name, bytes - (baseBytes.get(name) ?? 0)] as const)
      .filter(([, bytes]) => bytes >= 1024)
      .sort((a, b) => b[1] - a[1])
      .map(([name, bytes]) => `${name} +${kib(bytes)}`)
      .join(', ');
  };
  const part1Breakdown = [
    `What the Paypack bundle adds to the reference's: ${extra(paypackCold, reference)}.`,
    `What the Papaya bundle adds to the reference's: ${extra(papayaCold, reference)}.`,
  ].join('\n');
  const contributors = paypackCold.bundle.packages
    .slice(0, 12)
    .map(([name, bytes]) => `${name} ${kib(bytes)}`)
    .join(', ');
  out(part1);
  out(part1Targets);
  out(part1State);
  out(part1Breakdown);

  out('2/4 consumer reads…');
  const reads = await benchConsumerReads(world);
  const part2 = reads.table;
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
  // Durations from the uncontended cold-start runs (a due first invocation, with client start-up, and a
  // warm fresh one; a cold start adds its import as billed init); the fleet wave's are inflated by moto
  // serving 50 containers one call at a time.
  const paypackRun = {
    refreshShare: 0.5,
    freshRun: { ssmReads: fleet.fresh.perSource.ssmReads, durationMs: paypackCold.warmMs },
    // The wave refreshes each source for the first time (no refresh token stored yet); a steady-state
    // refresh also writes the write-ahead "spent" marker and renews the lease once after it.
    dueRun: {
      ssmReads: fleet.due.perSource.ssmReads,
      ssmWrites: fleet.due.perSource.ssmWrites + 1,
      dynamodbWrites: fleet.due.perSource.dynamodbWrites + 1,
      durationMs: paypackCold.invokeMs,
    },
    logBytesPerRun: (fleet.due.logBytesPerRun + fleet.fresh.logBytesPerRun) / 2,
    coldStartInitMs: paypackCold.importMs,
  };
  // Papaya keeps no private state (it takes the same lease, without the renewal): one read fewer than the
  // wave's Paypack source, and only the token write.
  const papayaRun = {
    ...paypackRun,
    refreshShare: 1 / 12,
    freshRun: { ...paypackRun.freshRun, durationMs: papayaCold.warmMs },
    dueRun: {
      ssmReads: fleet.due.perSource.ssmReads - 1,
      ssmWrites: fleet.due.perSource.ssmWrites - 1,
      dynamodbWrites: fleet.due.perSource.dynamodbWrites,
      durationMs: papayaCold.invokeMs,
    },
    coldStartInitMs: papayaCold.importMs,
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
      sources: [{ count: fleetSize, periodMinutes: 4, run: paypackRun, environments: containers }],
      providers: 1,
      perSourceAlarms: false,
      ssmHigherThroughput: true,
      memoryGb: 0.25,
    },
    // The resilience profiles side by side: the default refreshes a Paypack token every 8 minutes (every
    // second run); 'max' checks every minute under 14.5 minutes left, so every run refreshes.
    ...(['default', 'max'] as const).flatMap((profile): Scenario[] => {
      const periodMinutes = profile === 'max' ? 1 : 4;
      const run = profile === 'max' ? { ...paypackRun, refreshShare: 1 } : paypackRun;
      const oneSource: Scenario = {
        name: `1 Paypack source, resilience '${profile}'`,
        sources: [{ count: 1, periodMinutes, run }],
        providers: 1,
        perSourceAlarms: true,
        ssmHigherThroughput: false,
        memoryGb: 0.25,
      };
      // The default fleet is the row above.
      if (profile === 'default') return [oneSource];
      return [
        oneSource,
        {
          name: `${fleetSize} Paypack sources, resilience '${profile}' (per-source alarms off, SSM higher throughput)`,
          sources: [{ count: fleetSize, periodMinutes, run, environments: containers }],
          providers: 1,
          perSourceAlarms: false,
          ssmHigherThroughput: true,
          memoryGb: 0.25,
        },
      ];
    }),
    // One replica region (docs/regions.md): copies only, and copies with a standby waiting there.
    ...[false, true].flatMap((standby): Scenario[] => [
      {
        name: `1 Paypack source, one replica region${standby ? ' with a standby' : ''}`,
        sources: [{ count: 1, periodMinutes: 4, run: paypackRun }],
        providers: 1,
        perSourceAlarms: true,
        ssmHigherThroughput: false,
        memoryGb: 0.25,
        replicaRegions: 1,
        standby,
      },
      {
        name: `${fleetSize} Paypack sources, one replica region${standby ? ' with a standby' : ''} (per-source alarms off, SSM higher throughput)`,
        sources: [{ count: fleetSize, periodMinutes: 4, run: paypackRun, environments: containers }],
        providers: 1,
        perSourceAlarms: false,
        ssmHigherThroughput: true,
        memoryGb: 0.25,
        replicaRegions: 1,
        standby,
      },
    ]),
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

Every bundle, the reference's included, is built by the same function (\`infra/bundling.ts\`, what the CDK
functions ship: ESM, minified, module-first main fields, class names kept, target ${ESBUILD_TARGET}, AWS SDK
included). Each time is the median of ${samples} fresh Node ${process.version} processes that import the bundle
and invoke it once on the refresh path (read the published value, read the credentials, call the provider,
write the token) against moto and the sandbox; bundles alternate, and a first round that warms moto up is
not counted. The reference (\`bench/reference-handler.ts\`) imports only the SSM and Secrets Manager clients
and makes the same calls, with no validation, logging, metrics or lease. Both handlers run as deployed, with
the lock table: they take and release a DynamoDB lease around a refresh, and \`paypack\` also reads and
writes its refresh-token parameter. \`reference + Paypack state I/O\`
(\`bench/reference-with-paypack-state.ts\`) is the reference plus exactly that extra I/O, to measure it
separately.

${part1}

${part1Targets}

${part1State}

${part1Breakdown}

Largest contributors to the paypack bundle: ${contributors}.

## 2. SSM reads of a warm consumer

One container serving 10 requests/s for a simulated hour (${reads.requests.toLocaleString('en')} requests), each asking for a
Paypack token, while the refresher publishes on the production schedule (every 4 min, refresh under
10 min left, 15-minute tokens). Same parameter, same moto; only \`Date\` is simulated. Two hours are
measured: a normal one, and one with a Paypack outage from minute 20 to 40 (no refresh succeeds, so the
published token expires at about minute 31). The Parameters and Secrets Lambda Extension rows are
modelled: a fixed-TTL cache over the same SSM reads, as the Extension documents it. "Refused" means
\`getToken\` threw \`TokenUnavailableError\` instead of returning an expired token.

${part2}

## 3. A fleet of ${fleetSize} Paypack sources

One invocation per source, as the per-source schedules deliver them, over ${containers} warm handler
instances (Lambda's concurrency), with the DynamoDB lock and ${writeRate ? `SSM writes paced at ${writeRate}/s per container` : 'unpaced SSM writes (set REFRESHER_SSM_WRITES_PER_SECOND to pace them)'}; then again when
every token is fresh. Setup (credentials for ${fleetSize} applications) took ${(fleet.setupMs / 1000).toFixed(1)} s and is not counted.
Peak memory of the benchmark process (sandbox and all handler instances): RSS ${fleet.peakRssMiB.toFixed(0)} MiB, heap ${fleet.peakHeapMiB.toFixed(0)} MiB.

${part3}

This wave refreshes each source for the first time: no refresh token is stored yet, so the run
authorizes and then tries the new token on \`GET /merchants/me\` (the check before publishing): two
provider calls. Its SSM traffic is three reads (the published token; the same again after taking the
lease, so a run that waited for another never refreshes twice; the refresh token) and two writes (the
new refresh token, then the token), plus two DynamoDB writes (take the lease; release it with the run's
result, which \`npm run status\` shows). A steady-state refresh presents the stored refresh token
instead, and first records it as spent (the write-ahead marker, a third SSM write) and renews the lease
(a third DynamoDB write); the cost model below counts those. A fresh source costs one SSM read and nothing else. Wall time here is bound by moto,
which serves AWS calls one at a time.

## 4. Monthly cost

From the measured calls per run above, the share of runs that refresh (Paypack: every second run on
its schedule; Papaya: one in 12, as in the freshness simulation), the measured invocation durations (part 1: a due first invocation with
client start-up, and a warm fresh one; against moto, so pessimistic), the measured import time as each cold
start's billed init (assumed: runs an hour apart always start cold, closer runs once per warm environment per hour)
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
