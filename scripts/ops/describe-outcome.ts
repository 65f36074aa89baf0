import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';

/** The line `npm run refresh` prints for an outcome, with the runbook section of each code in it. */
export function describeOutcome(
  sourceId: string,
  outcome: SourceOutcome,
  targetDescription: string,
): { stream: 'stdout' | 'stderr'; line: string } {
  const section = (code: string) => `docs/runbook.md#${code.toLowerCase()}`;
  if (outcome.status === 'failed') {
    const { code, message } = outcome.error;
    return { stream: 'stderr', line: `${sourceId}: failed: ${code}: ${message} (${section(code)})` };
  }
  const warned = outcome.warnings
    ? `; warnings: ${outcome.warnings.map((code) => `${code} (${section(code)})`).join(', ')}`
    : '';
  return {
    stream: 'stdout',
    line: `${sourceId}: ${outcome.status}, expires ${outcome.expiresAt} (${targetDescription})${warned}`,
  };
}
