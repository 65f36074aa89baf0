/**
 * `npm run refresh -- <source>`: forces one refresh of a source now, through
 * the real handler (local mode) or the deployed function (STAGE=<stage>), and
 * prints the outcome. In local mode the outcome also goes to the running
 * `npm start`, whose live table counts it.
 */
import { parseCommandLine } from './cli.ts';
import { describeOutcome } from './describe-outcome.ts';
import { OpsError, resolveTarget } from './target.ts';

// In local mode the handler runs in this process: keep its logs and metrics off the terminal.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const USAGE = `
npm run refresh -- <source id> [--help]

Forces one refresh of <source id> now, even if its token is still fresh, and
prints the outcome (refreshed, fresh, or failed with its error code: see
docs/runbook.md). Talks to a running \`npm start\` (local mode), or to a deployed
stage with STAGE=<stage> and AWS credentials (STAGE=prod npm run refresh -- paypack-cashin).
`;

try {
  const { positionals } = parseCommandLine('npm run refresh', USAGE, {}, process.argv.slice(2), true);
  const [sourceId, ...extra] = positionals;
  if (!sourceId)
    throw new OpsError('name the source: npm run refresh -- <source id> (npm run refresh -- --help)');
  if (extra.length > 0) throw new OpsError(`one source at a time: npm run refresh -- ${sourceId}`);
  const target = await resolveTarget();
  const outcome = await target.refresh(sourceId);
  const { stream, line } = describeOutcome(sourceId, outcome, target.description);
  process[stream].write(`${line}\n`);
  if (outcome.status === 'failed') process.exitCode = 1;
} catch (error) {
  process.stderr.write(
    `npm run refresh: ${error instanceof OpsError ? error.message : `unexpected ${(error as Error).name}`}\n`,
  );
  process.exitCode = 1;
}
process.exit();
