import * as v from 'valibot';
import { baseUrlProblem } from '../../lambda/http/url-policy.ts';
import { providerFactories, providerNames } from '../../lambda/providers/index.ts';
import type { AnyTokenProvider } from '../../lambda/providers/provider.ts';
import { defaultSchedule, RESILIENCE_PROFILES } from '../default-schedules.ts';
import { type ScheduleProblem, scheduleProblem } from '../schedule-policy.ts';
import type { StageConfig, StageSource } from './stage-config.ts';

/** The function timeout the stacks use (TokenRefresher's default); schedules must leave room for one run. */
const RUN_TIMEOUT_SECONDS = 30;
const EDIT = 'infra/config/stages.ts';

/** What to write when a field is missing or malformed, by field name. */
const HINTS: Record<string, string> = {
  secret:
    'set it to { name: "<secret name>" }, { arn: "<secret ARN>" } or { create: true } (an empty placeholder to fill after the first deploy)',
  provider: `use one of: ${providerNames.join(', ')}`,
  environment: 'use "sandbox" or "production"',
  'schedule.periodMinutes':
    'a schedule needs both periodMinutes and refreshThresholdMinutes; leave "schedule" out for the provider default',
  'schedule.refreshThresholdMinutes':
    'a schedule needs both periodMinutes and refreshThresholdMinutes; leave "schedule" out for the provider default',
  alarmEmail: 'use an e-mail address',
  alarmTopicArn: 'use an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:alerts',
};

const name = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z][A-Za-z0-9-]{0,40}$/, 'must be 1-41 letters, digits or "-", starting with a letter'),
);
const sourceId = v.pipe(
  v.string(),
  v.regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'must be 1-64 letters, digits, "_", "." or "-", starting alphanumeric',
  ),
);
const url = v.pipe(
  v.string(),
  v.check(
    (value) => baseUrlProblem(value) === undefined,
    'must be an https URL such as https://api.example/v1',
  ),
);
/** An ARN of the service: no whitespace anywhere, and an SNS topic ARN in full (region, account, name). */
const arn = (service: string) =>
  v.pipe(
    v.string(),
    v.regex(
      service === 'sns'
        ? /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/
        : new RegExp(`^arn:aws[a-z-]*:${service}:\\S*$`),
      service === 'sns'
        ? 'must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:alerts'
        : `must be an ${service} ARN`,
    ),
  );
const resilienceSchema = v.picklist(
  RESILIENCE_PROFILES,
  `must be one of: ${RESILIENCE_PROFILES.join(', ')} (max: the schedule that bridges the longest provider outage)`,
);
const wholeMinutes = v.pipe(
  v.number('must be a number of minutes'),
  v.integer('must be a whole number of minutes'),
  v.minValue(1, 'must be at least 1 minute'),
);
const endpointsOfProvider = v.strictObject({ sandbox: v.optional(url), production: v.optional(url) });

const sourceSchema = v.pipe(
  v.strictObject({
    id: sourceId,
    provider: v.picklist(providerNames, `is not a provider; use one of: ${providerNames.join(', ')}`),
    environment: v.picklist(['sandbox', 'production'], 'must be "sandbox" or "production"'),
    baseUrl: v.optional(url),
    secret: v.union(
      [
        v.strictObject({ name: v.pipe(v.string(), v.nonEmpty()) }),
        v.strictObject({ arn: arn('secretsmanager') }),
        v.strictObject({ create: v.literal(true), filled: v.optional(v.boolean()) }),
      ],
      'must be { name: "<secret name>" }, { arn: "<secret ARN>" } or { create: true }',
    ),
    secretKmsKeyArn: v.optional(arn('kms')),
    standbySecretKmsKeyArn: v.optional(arn('kms')),
    schedule: v.optional(
      v.strictObject({ periodMinutes: wholeMinutes, refreshThresholdMinutes: wholeMinutes }),
    ),
    options: v.optional(v.record(v.string(), v.unknown())),
    resilience: v.optional(resilienceSchema),
  }),
  v.forward(
    v.check(
      (source) => scheduleAdvice(source)?.field !== 'period',
      (issue) => scheduleAdvice(issue.input)?.message ?? '',
    ),
    ['schedule', 'periodMinutes'],
  ),
  v.forward(
    v.check(
      (source) => scheduleAdvice(source)?.field !== 'threshold',
      (issue) => scheduleAdvice(issue.input)?.message ?? '',
    ),
    ['schedule', 'refreshThresholdMinutes'],
  ),
);

const landingZoneSchema = v.strictObject({
  permissionsBoundaryArn: v.optional(arn('iam')),
  rolePath: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\/([\w+=,.@-]+\/)*$/, 'must start and end with "/", such as /workloads/token-refresher/'),
    ),
  ),
  tags: v.optional(
    v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(128)), v.pipe(v.string(), v.maxLength(256))),
  ),
  qualifier: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[a-z0-9]{1,10}$/, 'must be 1-10 lowercase letters or digits (cdk bootstrap --qualifier)'),
    ),
  ),
});

const regionName = v.pipe(
  v.string(),
  v.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as eu-west-1'),
);

const stageSchema = v.pipe(
  v.strictObject({
    name,
    account: v.optional(v.pipe(v.string(), v.regex(/^\d{12}$/, 'must be a 12-digit AWS account id'))),
    region: v.optional(regionName),
    replicaRegions: v.optional(v.array(regionName)),
    standbyRegion: v.optional(regionName),
    parameterPrefix: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'must look like /token-refresher/prod (no trailing slash)'),
      ),
    ),
    secretPrefix: v.optional(v.pipe(v.string(), v.nonEmpty())),
    endpoints: v.optional(
      v.strictObject(
        Object.fromEntries(providerNames.map((provider) => [provider, v.optional(endpointsOfProvider)])),
      ),
    ),
    alarmEmail: v.optional(v.pipe(v.string(), v.email('must be an e-mail address'))),
    alarmTopicArn: v.optional(arn('sns')),
    alarmDestination: v.optional(v.literal('none', 'must be "none" (or left out)')),
    example: v.optional(v.boolean()),
    landingZone: v.optional(landingZoneSchema),
    sources: v.pipe(v.array(sourceSchema), v.minLength(1, 'must list at least one source')),
    secretNamePrefix: v.optional(
      v.union(
        [
          v.pipe(v.string(), v.nonEmpty()),
          v.strictObject(
            Object.fromEntries(
              providerNames.map((provider) => [provider, v.optional(v.pipe(v.string(), v.nonEmpty()))]),
            ),
          ),
        ],
        'must be a name prefix, or a map of provider to name prefix such as { paypack: "token-refresher/prod/" }',
      ),
    ),
    perSourceAlarms: v.optional(v.boolean()),
    resilience: v.optional(resilienceSchema),
    exampleConsumerSourceId: v.optional(sourceId),
  }),
);

/**
 * Checked on the raw stage, beside the schema rather than after it: a pipe check
 * runs only once every field is valid, so this mistake would come in a second round.
 */
function alarmDestinationProblem(raw: unknown, stageLabel: string): string[] {
  const stage = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (stage.alarmEmail || stage.alarmTopicArn || stage.alarmDestination !== undefined) return [];
  return [
    `${stageLabel}, field "alarmEmail": no alarm destination, so alarms would notify no one: set alarmEmail or alarmTopicArn, or alarmDestination: "none" to deploy without one on purpose`,
  ];
}

/** The schedule problem of a source, in minutes, with advice that is possible; undefined when it is sound. */
function scheduleAdvice(raw: unknown): ScheduleProblem | undefined {
  const source = raw as StageSource;
  const factory = providerFactories[source.provider];
  if (!factory || !source.schedule) return undefined;
  const provider: AnyTokenProvider = factory();
  const options = v.safeParse(provider.optionsSchema, source.options);
  // Malformed options are reported by the source check that follows; without them there is no lifetime.
  if (!options.success) return undefined;
  const problem = scheduleProblem({
    periodSeconds: source.schedule.periodMinutes * 60,
    thresholdSeconds: source.schedule.refreshThresholdMinutes * 60,
    lifetimeSeconds: provider.tokenLifetimeSeconds(options.output),
    runTimeoutSeconds: RUN_TIMEOUT_SECONDS,
  });
  if (!problem) return undefined;
  const defaults = defaultSchedule(source.provider, source.options);
  return {
    field: problem.field,
    message: `${problem.message} (the ${source.provider} default: a ${defaults.period.toMinutes()} min period, a ${formatMinutes(defaults.refreshThreshold.toSeconds())} min threshold)`,
  };
}

/** A stage-configuration mistake, found at synth. */
export class StageConfigError extends Error {
  constructor(problems: string[]) {
    super(
      problems.length === 1
        ? `${problems[0]} (edit ${EDIT})`
        : `${problems.length} problems in ${EDIT}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
    this.name = 'StageConfigError';
  }
}

/**
 * Checks a stage against its schema; every problem names the stage, the source
 * and the field, and says what to change. Received values are not echoed,
 * except a misspelled provider name (configuration, never a secret).
 */
export function validateStage(raw: unknown): StageConfig {
  const parsed = v.safeParse(stageSchema, raw);
  const stageName = (raw as { name?: unknown } | null)?.name;
  const stageLabel = `stage "${typeof stageName === 'string' ? stageName : '?'}"`;
  const alarmProblem = alarmDestinationProblem(raw, stageLabel);
  if (!parsed.success) {
    throw new StageConfigError([
      ...parsed.issues.map((issue) => describe(stageLabel, issue)),
      ...alarmProblem,
    ]);
  }
  const stage = parsed.output as StageConfig;
  const problems = [
    ...alarmProblem,
    ...stage.sources.flatMap((source) => endpointProblems(stage, source, stageLabel)),
    ...placeholderProblems(stage),
    ...regionProblems(stage, stageLabel),
  ];
  if (problems.length > 0) throw new StageConfigError(problems);
  return stage;
}

function describe(stageLabel: string, issue: v.BaseIssue<unknown>): string {
  const path = issue.path ?? [];
  let where = stageLabel;
  let fieldPath = path.map((item) => String(item.key));
  if (fieldPath[0] === 'sources' && fieldPath.length >= 2) {
    const index = Number(fieldPath[1]);
    const id = (path[1]?.value as { id?: unknown } | undefined)?.id;
    where += `, source ${typeof id === 'string' ? `"${id}"` : `#${index + 1}`}`;
    fieldPath = fieldPath.slice(2);
  }
  const field = fieldPath.join('.');
  const received = field === 'provider' && typeof issue.input === 'string' ? `"${issue.input}" ` : '';
  const missing = issue.kind === 'schema' && issue.received === 'undefined';
  const unknownField = issue.kind === 'schema' && issue.expected === 'never';
  const what = missing
    ? 'is required'
    : unknownField
      ? 'is not a known field'
      : /^Invalid /.test(issue.message)
        ? `expected ${issue.expected}`
        : issue.message;
  const hint = missing ? HINTS[field] : undefined;
  const fieldLabel = field ? `, field "${field}"` : '';
  return `${where}${fieldLabel}: ${received}${what}${hint ? `; ${hint}` : ''}`;
}

/** Replica and standby regions: distinct, not the home region, and a home region to be distinct from. */
function regionProblems(stage: StageConfig, stageLabel: string): string[] {
  const replicas = stage.replicaRegions ?? [];
  const problems: string[] = [];
  if ((replicas.length > 0 || stage.standbyRegion) && !stage.region) {
    problems.push(
      `${stageLabel}, field "region": is required with replicaRegions (the home region must be known at synth: the replica regions' grants and the standby's copy back name it)`,
    );
  }
  if (stage.region && replicas.includes(stage.region))
    problems.push(
      `${stageLabel}, field "replicaRegions": names the home region ${stage.region}; list only other regions`,
    );
  const repeated = replicas.find((region, index) => replicas.indexOf(region) !== index);
  if (repeated) problems.push(`${stageLabel}, field "replicaRegions": names ${repeated} twice`);
  if (stage.standbyRegion && !replicas.includes(stage.standbyRegion)) {
    problems.push(
      `${stageLabel}, field "standbyRegion": ${stage.standbyRegion} is not one of replicaRegions; a standby needs the tokens there, so add it to replicaRegions`,
    );
  }
  return problems;
}

/** RFC 2606 and RFC 6761 names that never reach a real API: .invalid, .example, example.com/net/org, .test, .localhost. */
const PLACEHOLDER_HOST = /(^|\.)(invalid|example|example\.(com|net|org)|test|localhost)$/i;
const LOOPBACK = /^(127(\.\d{1,3}){3}|\[::1\]|::1|0\.0\.0\.0)$/;

/**
 * Whether a host is a documentation placeholder or this machine, which can never
 * serve the real API. A fully qualified name's trailing dot is the same name.
 */
export function isPlaceholderHost(host: string): boolean {
  const name = host.replace(/\.+$/, '');
  return PLACEHOLDER_HOST.test(name) || LOOPBACK.test(name);
}

/** Where each source's base URL comes from, and what is wrong with it: missing, or a placeholder. */
function endpointProblems(stage: StageConfig, source: StageSource, stageLabel: string): string[] {
  const where = `${stageLabel}, source "${source.id}"`;
  const field = source.baseUrl ? 'baseUrl' : `endpoints.${source.provider}.${source.environment}`;
  const url = source.baseUrl ?? stage.endpoints?.[source.provider]?.[source.environment];
  if (!url) {
    if (source.environment === 'production' && source.provider === 'paypack') return [];
    return [
      `${where}, field "${field}": is required, ${source.provider} has no public ${source.environment} host; set it (or the source's "baseUrl") to the host ${source.provider}'s integration support gave you`,
    ];
  }
  return [];
}

/** Placeholders make an error unless the stage is marked as an example. */
function placeholderProblems(stage: StageConfig): string[] {
  if (stage.example) return [];
  return placeholderReport(stage).map(
    (problem) =>
      `${problem}; replace it with the real one, or mark the stage example: true (it then synthesizes but CloudFormation refuses to deploy it)`,
  );
}

/** The placeholders of an example stage, for the synth-time report. */
export function placeholderReport(stage: StageConfig): string[] {
  const report: string[] = [];
  for (const source of stage.sources) {
    const field = source.baseUrl ? 'baseUrl' : `endpoints.${source.provider}.${source.environment}`;
    const url = source.baseUrl ?? stage.endpoints?.[source.provider]?.[source.environment];
    const parsed = url ? new URL(url) : undefined;
    const host = parsed?.hostname;
    if (host && isPlaceholderHost(host)) {
      report.push(
        `stage "${stage.name}", source "${source.id}", field "${field}": "${host}" is a placeholder host`,
      );
    } else if (parsed?.protocol === 'http:') {
      report.push(
        `stage "${stage.name}", source "${source.id}", field "${field}": uses plain http, which would send credentials unencrypted`,
      );
    }
  }
  const emailHost = stage.alarmEmail?.split('@')[1];
  if (emailHost && isPlaceholderHost(emailHost)) {
    report.push(`stage "${stage.name}", field "alarmEmail": "${emailHost}" is a placeholder domain`);
  }
  return report;
}

/** Whole minutes as they are, anything else to one decimal (oauth2 thresholds derive from seconds). */
function formatMinutes(seconds: number): string {
  const minutes = seconds / 60;
  return Number.isInteger(minutes) ? String(minutes) : minutes.toFixed(1);
}
