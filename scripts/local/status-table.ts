export interface SourceRow {
  source: string;
  provider: string;
  state: string;
  expiresAt?: string;
  /** Simulated ms of the next scheduled run. */
  nextRunAt?: number;
  refreshes: number;
  lastResult: string;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(Math.round(seconds));
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  if (hours > 0) return `${sign}${hours}h${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${sign}${minutes}m${String(secs).padStart(2, '0')}s`;
  return `${sign}${secs}s`;
}

/** A plain-text table: source, provider, state, expires in, next run, refreshes, last result; all in one clock. */
export function renderTable(rows: SourceRow[], now: number): string {
  const header = ['SOURCE', 'PROVIDER', 'STATE', 'EXPIRES IN', 'NEXT RUN', 'REFRESHES', 'LAST RESULT'];
  const body = rows.map((row) => [
    row.source,
    row.provider,
    row.state,
    row.expiresAt ? formatDuration((Date.parse(row.expiresAt) - now) / 1000) : '-',
    row.nextRunAt === undefined ? '-' : `in ${formatDuration(Math.max(0, (row.nextRunAt - now) / 1000))}`,
    String(row.refreshes),
    row.lastResult,
  ]);
  return renderColumns(header, body);
}

/** One line under the table saying what its words mean. */
export const TABLE_LEGEND =
  'STATE: last outcome (refreshed = new token published, fresh = token still valid so nothing done, failed = see LAST RESULT and docs/runbook.md); (forced) = npm run refresh; every time is in the clock of the header';

/** Left-aligned columns two spaces apart, header first. */
export function renderColumns(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((cells) => (cells[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
