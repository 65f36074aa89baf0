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
import { parsePublishedToken } from '../../lambda/token-contract.ts';
import { formatDuration, renderColumns } from '../local/status-table.ts';
import { isMainModule } from '../main-module.ts';
import { OpsError, type OpsSource, type OpsTarget, resolveTarget } from './target.ts';

export interface StatusRow {
  source: string;
  provider: string;
  expiresIn: string;
  age: string;
  version: string;
  lastResult: string;
  warning: string;
}

export async function collectStatus(target: OpsTarget): Promise<StatusRow[]> {
  return Promise.all(target.sources.map((source) => statusOf(target, source)));
}

async function statusOf(target: OpsTarget, source: OpsSource): Promise<StatusRow> {
  const base = { source: source.id, provider: source.provider };
  const lastResult = await lastRun(target, leaseKey(source.provider, source.id));
  let parameter: { Value?: string; Version?: number } | undefined;
  try {
    ({ Parameter: parameter } = await target.ssm.send(
      new GetParameterCommand({ Name: source.parameterName, WithDecryption: true }),
    ));
  } catch (error) {
    const name = (error as Error).name;
    if (name !== 'ParameterNotFound') throw new OpsError(`cannot read ${source.parameterName}: ${name}`);
  }
  const token = parameter?.Value ? parsePublishedToken(parameter.Value) : undefined;
  if (!token) {
    return {
      ...base,
      expiresIn: '-',
      age: '-',
      version: String(parameter?.Version ?? '-'),
      lastResult,
      warning: 'MISSING: no token published',
    };
  }
  const now = target.now();
  const remaining = (Date.parse(token.expiresAt) - now) / 1000;
  const warning =
    remaining <= 0
      ? 'EXPIRED'
      : remaining < source.refreshThresholdSeconds / 2
        ? `NEAR EXPIRY: refresh overdue (refreshes under ${formatDuration(source.refreshThresholdSeconds)} left)`
        : '';
  return {
    ...base,
    expiresIn: formatDuration(remaining),
    age: formatDuration((now - Date.parse(token.issuedAt)) / 1000),
    version: String(parameter?.Version ?? '-'),
    lastResult,
    warning,
  };
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
    return at ? `${result}${code}, ${formatDuration((Date.now() - at) / 1000)} ago` : result;
  } catch {
    return '-';
  }
}

export function renderStatus(rows: StatusRow[]): string {
  const header = ['SOURCE', 'PROVIDER', 'EXPIRES IN', 'AGE', 'VERSION', 'LAST REFRESH', 'WARNING'];
  const cells = rows.map((row) => [
    row.source,
    row.provider,
    row.expiresIn,
    row.age,
    row.version,
    row.lastResult,
    row.warning,
  ]);
  return renderColumns(header, cells);
}

if (isMainModule(import.meta.url)) {
  try {
    const target = await resolveTarget();
    const rows = await collectStatus(target);
    process.stdout.write(`${target.description}\n\n${renderStatus(rows)}\n`);
    if (rows.some((row) => row.warning.startsWith('MISSING') || row.warning === 'EXPIRED'))
      process.exitCode = 1;
  } catch (error) {
    process.stderr.write(
      `npm run status: ${error instanceof OpsError ? error.message : (error as Error).name}\n`,
    );
    process.exitCode = 1;
  }
  process.exit();
}
