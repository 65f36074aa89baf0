/**
 * Part 4: monthly cost from measured call counts and AWS's published list prices
 * (us-east-1, on-demand, no free tier). Prices change: the table below says which
 * were used, so the model can be re-run with current ones.
 */
export const PRICES_USD = {
  lambdaRequestPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  schedulerInvocationPerMillion: 1.0,
  secretPerMonth: 0.4,
  secretsApiPer10k: 0.05,
  kmsKeyPerMonth: 1.0,
  kmsRequestPer10k: 0.03,
  ssmHigherThroughputPer10k: 0.05,
  dynamodbWritePerMillion: 0.625,
  alarmPerMonth: 0.1,
  customMetricPerMonth: 0.3,
  dashboardPerMonth: 3.0,
  logsIngestPerGb: 0.5,
} as const;

/**
 * Per-provider series the dashboard draws besides TokenSecondsRemaining and RefreshFailed: Refreshed,
 * Fresh, ProviderLatency, ProviderCalls, ProviderRetries, ProviderRateLimited, LockWaits
 * (lambda/handlers/run-metrics.ts). Percentiles of a metric cost nothing extra.
 */
export const DASHBOARD_METRICS_PER_PROVIDER = 7;

export interface MeasuredRun {
  /** Share of runs that refresh (the rest find the token fresh), from the freshness simulation. */
  refreshShare: number;
  freshRun: { ssmReads: number; durationMs: number };
  dueRun: { ssmReads: number; ssmWrites: number; dynamodbWrites: number; durationMs: number };
  /** Log and EMF bytes one run writes, as compact JSON (Lambda's platform lines are added by the model). */
  logBytesPerRun: number;
  /** A cold start's init phase (importing the bundle), which Lambda bills like the invocation itself. */
  coldStartInitMs: number;
}

export interface Scenario {
  name: string;
  /** `environments`: warm execution environments the group keeps (default one per source). */
  sources: { count: number; periodMinutes: number; run: MeasuredRun; environments?: number }[];
  providers: number;
  perSourceAlarms: boolean;
  /** SSM's higher-throughput setting, needed once PutParameter bursts exceed the standard limit. */
  ssmHigherThroughput: boolean;
  memoryGb: number;
  /** Replica regions each token is copied to (docs/regions.md). Default 0. */
  replicaRegions?: number;
  /** A standby refresher in one of them (schedules off: its resources, not its runs). Default false. */
  standby?: boolean;
}

/**
 * What one replica region adds to a run, by the code path (lambda/refresh/replicate.ts, regions.ts):
 * a run that finds the token fresh reads the copy (a SecureString: one KMS Decrypt); a refresh reads the
 * active-region marker at home and in the replica (plain Strings, no KMS) and writes the copy (one KMS
 * Encrypt). The replica key's ARN is read once per container and is left out.
 */
export const REPLICA_CALLS = {
  freshRun: { ssmReads: 1, kms: 1 },
  dueRun: { ssmReads: 1, ssmWrites: 1, kms: 1 },
  /** The home marker, read once per refresh whatever the number of replicas. */
  dueRunHomeMarker: 1,
  /**
   * Time a run waits on a replica region (the regions are called side by side): an assumption, one
   * cross-region round trip of about 100 ms, not measured here (moto answers every region locally).
   */
  assumedWaitMs: 100,
} as const;

export interface CostLine {
  item: string;
  usd: number;
}

const MONTH_MINUTES = 30 * 24 * 60;
const HOUR_MINUTES = 60;

/**
 * Cold starts a month. An assumption, not a measurement: Lambda does not publish how long an idle
 * execution environment lives. Runs an hour or more apart are counted as always cold; closer runs
 * as one cold start per environment per hour.
 */
export function coldStartsPerMonth(group: Scenario['sources'][number]): number {
  const runs = group.count * (MONTH_MINUTES / group.periodMinutes);
  if (group.periodMinutes >= HOUR_MINUTES) return runs;
  return Math.min(runs, (group.environments ?? group.count) * (MONTH_MINUTES / HOUR_MINUTES));
}
/** Lambda's own platform.start and platform.report records in JSON log format: an estimate, not measured here. */
const LAMBDA_PLATFORM_LOG_BYTES = 600;

export function monthlyCost(scenario: Scenario): { lines: CostLine[]; total: number } {
  let runs = 0;
  let gbSeconds = 0;
  let ssmCalls = 0;
  let kmsRequests = 0;
  let dynamodbWrites = 0;
  let logBytes = 0;
  let sourceCount = 0;
  let coldStarts = 0;
  for (const group of scenario.sources) {
    const groupColdStarts = coldStartsPerMonth(group);
    coldStarts += groupColdStarts;
    gbSeconds += scenario.memoryGb * ((groupColdStarts * group.run.coldStartInitMs) / 1000);
    const groupRuns = group.count * (MONTH_MINUTES / group.periodMinutes);
    const due = groupRuns * group.run.refreshShare;
    const fresh = groupRuns - due;
    runs += groupRuns;
    sourceCount += group.count;
    gbSeconds +=
      scenario.memoryGb *
      ((fresh * group.run.freshRun.durationMs + due * group.run.dueRun.durationMs) / 1000);
    const calls =
      fresh * group.run.freshRun.ssmReads + due * (group.run.dueRun.ssmReads + group.run.dueRun.ssmWrites);
    ssmCalls += calls;
    kmsRequests += calls; // every SecureString read or write is one KMS Decrypt or Encrypt
    const replicas = scenario.replicaRegions ?? 0;
    if (replicas > 0) {
      const r = REPLICA_CALLS;
      ssmCalls +=
        replicas * (fresh * r.freshRun.ssmReads + due * (r.dueRun.ssmReads + r.dueRun.ssmWrites)) +
        due * r.dueRunHomeMarker;
      kmsRequests += replicas * (fresh * r.freshRun.kms + due * r.dueRun.kms);
      gbSeconds += scenario.memoryGb * ((groupRuns * r.assumedWaitMs) / 1000);
    }
    dynamodbWrites += due * group.run.dueRun.dynamodbWrites;
    logBytes += groupRuns * (group.run.logBytesPerRun + LAMBDA_PLATFORM_LOG_BYTES);
  }
  // Credentials are cached per container, but a fleet's due runs land on many containers: count one read each.
  let secretReads = 0;
  for (const group of scenario.sources) {
    secretReads += group.count * (MONTH_MINUTES / group.periodMinutes) * group.run.refreshShare;
  }
  const replicas = scenario.replicaRegions ?? 0;
  const homeAlarms = 1 + scenario.providers * 2 + (scenario.perSourceAlarms ? sourceCount : 0);
  // Per replica region: a staleness alarm per provider, ReplicaTokenSecondsRemaining per provider and
  // ReplicaBehind. A standby repeats home's alarms and dashboard, its own key for the alarm topic, and
  // Secrets Manager bills each replica secret as a secret.
  const alarms = homeAlarms * (scenario.standby ? 2 : 1) + replicas * scenario.providers;
  const metrics =
    scenario.providers * (2 + DASHBOARD_METRICS_PER_PROVIDER) +
    (scenario.perSourceAlarms ? sourceCount * 2 : 0) +
    replicas * (scenario.providers + 1);
  const keys = 2 + replicas + (scenario.standby ? 1 : 0);
  const secrets = sourceCount * (scenario.standby ? 2 : 1);
  const dashboards = scenario.standby ? 2 : 1;
  const p = PRICES_USD;
  const lines: CostLine[] = [
    {
      item: `Lambda requests (${Math.round(runs).toLocaleString('en')} runs)`,
      usd: (runs / 1e6) * p.lambdaRequestPerMillion,
    },
    {
      item: `Lambda compute (${Math.round(gbSeconds).toLocaleString('en')} GB-s, arm64, incl. ${Math.round(coldStarts).toLocaleString('en')} cold starts' init)`,
      usd: gbSeconds * p.lambdaArmGbSecond,
    },
    { item: 'EventBridge Scheduler invocations', usd: (runs / 1e6) * p.schedulerInvocationPerMillion },
    {
      item: `Secrets Manager (${secrets} secrets${scenario.standby ? ', half of them replicas' : ''}, ${secretReads.toLocaleString('en')} reads)`,
      usd: secrets * p.secretPerMonth + (secretReads / 1e4) * p.secretsApiPer10k,
    },
    {
      item: `KMS (${keys} keys, ${Math.round(kmsRequests).toLocaleString('en')} requests)`,
      usd: keys * p.kmsKeyPerMonth + (kmsRequests / 1e4) * p.kmsRequestPer10k,
    },
    {
      item: `SSM Parameter Store (${Math.round(ssmCalls).toLocaleString('en')} calls, ${scenario.ssmHigherThroughput ? 'higher' : 'standard'} throughput)`,
      usd: scenario.ssmHigherThroughput ? (ssmCalls / 1e4) * p.ssmHigherThroughputPer10k : 0,
    },
    {
      item: `DynamoDB lock writes (${Math.round(dynamodbWrites).toLocaleString('en')})`,
      usd: (dynamodbWrites / 1e6) * p.dynamodbWritePerMillion,
    },
    { item: `CloudWatch alarms (${alarms})`, usd: alarms * p.alarmPerMonth },
    { item: `CloudWatch custom metrics (${metrics})`, usd: metrics * p.customMetricPerMonth },
    { item: `CloudWatch dashboards (${dashboards})`, usd: dashboards * p.dashboardPerMonth },
    {
      item: `CloudWatch Logs ingestion (${(logBytes / 1e9).toFixed(2)} GB)`,
      usd: (logBytes / 1e9) * p.logsIngestPerGb,
    },
  ];
  return { lines, total: lines.reduce((sum, line) => sum + line.usd, 0) };
}
