/**
 * `npm run refresh -- <source>`: forces one refresh of a source now, through
 * the real handler (local mode) or the deployed function (STAGE=<stage>), and
 * prints the outcome.
 */
import { OpsError, resolveTarget } from './target.ts';

// In local mode the handler runs in this process: keep its logs and metrics off the terminal.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const sourceId = process.argv[2];
try {
  if (!sourceId) throw new OpsError('name the source: npm run refresh -- <source id>');
  const target = await resolveTarget();
  const outcome = await target.refresh(sourceId);
  if (outcome.status === 'failed') {
    process.stderr.write(`${sourceId}: failed: ${outcome.error.code}: ${outcome.error.message}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(
      `${sourceId}: ${outcome.status}, expires ${outcome.expiresAt} (${target.description})\n`,
    );
  }
} catch (error) {
  process.stderr.write(
    `npm run refresh: ${error instanceof OpsError ? error.message : (error as Error).name}\n`,
  );
  process.exitCode = 1;
}
process.exit();
