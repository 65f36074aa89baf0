/**
 * `npm run status`: every source's published token — source, provider, expires
 * in, age, parameter version, last refresh result — with a warning for any
 * token near expiry. Works against a running `npm start`, or a deployed stage
 * with STAGE=<stage> and AWS credentials. Exit code 1 when a token is missing
 * or expired, or nothing is reachable.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { leaseKey } from '../../lambda/refresh/refresh-source.ts';
import { parseMarker, winningMarker } from '../../lambda/refresh/regions.ts';
import { type PublishedToken, parsePublishedToken } from '../../lambda/token-contract.ts';
import { formatDuration, renderColumns } from '../local/status-table.ts';
import { isMainModule } from '../main-module.ts';
import { parseCommandLine } from './cli.ts';
import { awsProblem, OpsError, type OpsSource, type OpsTarget, resolveTarget } from './target.ts';

const USAGE = `
npm run status [-- --help]      (STAGE=<stage> npm run status for a deployed stage)

Every source's published token: source, provider, expires in, age, parameter
version, last refresh result, and a warning for a token near expiry; for a stage
with replica regions, the active region and each region's copy (COPIES: life
left, BEHIND when it expires before the home token, MISSING, unreachable). Talks to a
running \`npm start\` (local mode, simulated clock), or to a deployed stage with
STAGE=<stage> and AWS credentials (STAGE=prod npm run status).
Exit code 1 when a token is missing or expired, or nothing is reachable.
`;

export interface StatusRow {
  source: string;
  provider: string;
  expiresIn: string;
  age: string;
  version: string;
  lastResult: string;
  warning: string;
  /** Per replica region: the copy's life left, or why there is none (stages with replicaRegions). */
  copies?: string;
}

export async function collectStatus(target: OpsTarget): Promise<StatusRow[]> {
  return Promise.all(
    target.sources.map(async (source) => {
      const { row, token } = await statusOf(target, source);
      return target.replicas?.length ? { ...row, copies: await copiesOf(target, source, token) } : row;
    }),
  );
}

/** Each replica region's copy: its life left, BEHIND when it expires before the home token, or why none. */
async function copiesOf(
  target: OpsTarget,
  source: OpsSource,
  home: PublishedToken | undefined,
): Promise<string> {
  const copies = await Promise.all(
    (target.replicas ?? []).map(async ({ region, ssm }) => {
      const copy = await readToken(ssm, source.parameterName).catch(() => 'unreachable' as const);
      if (copy === 'unreachable') return `${region} unreachable`;
      if (!copy) return `${region} MISSING`;
      const left = formatDuration((Date.parse(copy.expiresAt) - target.now()) / 1000);
      const behind = home && Date.parse(copy.expiresAt) < Date.parse(home.expiresAt) ? ' BEHIND' : '';
      return `${region} ${left}${behind}`;
    }),
  );
  return copies.join(', ');
}

async function readToken(ssm: OpsTarget['ssm'], name: string) {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return Parameter?.Value ? parsePublishedToken(Parameter.Value) : undefined;
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') return undefined;
    throw error;
  }
}

/** Which region refreshes: the highest-generation marker among the regions that answer. */
export async function activeRegionLine(target: OpsTarget): Promise<string | undefined> {
  if (!target.replicas?.length || !target.activeRegionParameter) return undefined;
  const name = target.activeRegionParameter;
  const markers = await Promise.all(
    [target.ssm, ...target.replicas.map((replica) => replica.ssm)].map((ssm) =>
      ssm
        .send(new GetParameterCommand({ Name: name }))
        .then(({ Parameter }) => parseMarker(Parameter?.Value))
        .catch(() => undefined),
    ),
  );
  const winner = winningMarker(markers);
  return winner
    ? `active region: ${winner.region} (failover generation ${winner.generation})`
    : `active region: ${target.homeRegion ?? 'home'} (home; no failover yet)`;
}

async function statusOf(
  target: OpsTarget,
  source: OpsSource,
): Promise<{ row: StatusRow; token: PublishedToken | undefined }> {
  const base = { source: source.id, provider: source.provider };
  const lastResult = await lastRun(target, leaseKey(source.provider, source.id));
  let parameter: { Value?: string; Version?: number } | undefined;
  try {
    ({ Parameter: parameter } = await target.ssm.send(
      new GetParameterCommand({ Name: source.parameterName, WithDecryption: true }),
    ));
  } catch (error) {
    if ((error as Error).name !== 'ParameterNotFound') {
      throw awsProblem(
        error,
        `read parameter ${source.parameterName} (source ${source.id})`,
        'ssm:GetParameter on it and kms:Decrypt on its key',
      );
    }
  }
  const token = parameter?.Value ? parsePublishedToken(parameter.Value) : undefined;
  if (!token) {
    const row = {
      ...base,
      expiresIn: '-',
      age: '-',
      version: String(parameter?.Version ?? '-'),
      lastResult,
      warning: 'MISSING: no token published',
    };
    return { row, token };
  }
  const now = target.now();
  const remaining = (Date.parse(token.expiresAt) - now) / 1000;
  const warning =
    remaining <= 0
      ? 'EXPIRED'
      : remaining < source.refreshThresholdSeconds / 2
        ? `NEAR EXPIRY: refresh overdue (refreshes under ${formatDuration(source.refreshThresholdSeconds)} left)`
        : '';
  const row = {
    ...base,
    expiresIn: formatDuration(remaining),
    age: formatDuration((now - Date.parse(token.issuedAt)) / 1000),
    version: String(parameter?.Version ?? '-'),
    lastResult,
    warning,
  };
  return { row, token };
}

async function lastRun(target: OpsTarget, key: string): Promise<string> {
  if (!target.lockTable) return '-';
  try {
    const { Item } = await target.dynamodb.send(
      new GetItemCommand({ TableName: target.lockTable, Key: { sourceId: { S: key } } }),
    );
    if (!Item) return '-';
    if (Item.rvn !== undefined) return 'refreshing now';
    const result = Item.lastResult?.S ?? '-';
    const code = Item.lastCode?.S && Item.lastCode.S !== '-' ? ` (${Item.lastCode.S})` : '';
    const at = Number(Item.lastRunAt?.N ?? 0);
    return at ? `${result}${code}, ${formatDuration(target.elapsedSeconds(at))} ago` : result;
  } catch {
    return '-';
  }
}

export function renderStatus(rows: StatusRow[]): string {
  const withCopies = rows.some((row) => row.copies !== undefined);
  const header = ['SOURCE', 'PROVIDER', 'EXPIRES IN', 'AGE', 'VERSION', 'LAST REFRESH', 'WARNING'];
  const cells = rows.map((row) => [
    row.source,
    row.provider,
    row.expiresIn,
    row.age,
    row.version,
    row.lastResult,
    row.warning,
    ...(withCopies ? [row.copies ?? '-'] : []),
  ]);
  return renderColumns(withCopies ? [...header, 'COPIES'] : header, cells);
}

if (isMainModule(import.meta.url)) {
  try {
    parseCommandLine('npm run status', USAGE, {});
    const target = await resolveTarget();
    const rows = await collectStatus(target);
    const active = await activeRegionLine(target);
    process.stdout.write(`${target.description}${active ? `; ${active}` : ''}\n\n${renderStatus(rows)}\n`);
    if (rows.some((row) => row.warning.startsWith('MISSING') || row.warning === 'EXPIRED'))
      process.exitCode = 1;
  } catch (error) {
    process.stderr.write(
      `npm run status: ${error instanceof OpsError ? error.message : `unexpected ${(error as Error).name}`}\n`,
    );
    process.exitCode = 1;
  }
  process.exit();
}
