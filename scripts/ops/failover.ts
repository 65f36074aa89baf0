/**
 * `npm run failover -- --stage <stage> --to <region> [--dry-run]`: makes another
 * region of a stage the one that refreshes (docs/regions.md). A person decides;
 * this command orders the steps so that two regions never refresh at once.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { stages } from '../../infra/config/stages.ts';
import { parseCommandLine } from './cli.ts';
import { OpsError } from './ops-error.ts';
import { regionClients, switchActiveRegion } from './region-switch.ts';

const USAGE = `
npm run failover -- --stage <stage> --to <region> [--dry-run] [--old-region-unreachable] [--help]

Makes <region> the active region of <stage>: the stage's standbyRegion (failover)
or its home region (failback), as named in infra/config/stages.ts. In order:
  1. writes <prefix>/meta/active-region (one generation up) in every region of the
     stage that answers: from then on a run elsewhere stands down (NOT_ACTIVE_REGION)
  2. turns off the old region's schedules and its staleness alarms' actions
  3. waits until no run in the old region holds a lease (at most 60 s)
  4. turns on the new region's schedules and its staleness alarms' actions
  5. starts one run per source there (a fresh token is left as it is)
Running it again is safe: it finishes what a cut-off run left undone.

  --dry-run                 print what would change, change nothing
  --old-region-unreachable  the old region is in an outage: skip steps 2 and 3
                            there (its runs stand down when it returns; run the
                            command again then, to turn its schedules off)

Needs AWS credentials for every region of the stage (docs/regions.md, "Permissions").
`;

try {
  const { values } = parseCommandLine('npm run failover', USAGE, {
    stage: { type: 'string' },
    to: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'old-region-unreachable': { type: 'boolean' },
  });
  const stageName = values.stage as string | undefined;
  const to = values.to as string | undefined;
  if (!stageName || !to) throw new OpsError('name both: npm run failover -- --stage <stage> --to <region>');
  const stage = stages.find((candidate) => candidate.name === stageName);
  if (!stage) {
    throw new OpsError(
      `--stage ${stageName} is not in infra/config/stages.ts (${stages.map((s) => s.name).join(', ')})`,
    );
  }
  await switchActiveRegion({
    stage,
    to,
    dryRun: values['dry-run'] === true,
    oldRegionUnreachable: values['old-region-unreachable'] === true,
    clients: (region) => regionClients(region),
    log: (line) => process.stdout.write(`${line}\n`),
    kick: async (region, { functionArn, input }) => {
      const target = JSON.parse(input) as { sources?: { id?: string }[] };
      // Asynchronous, as the schedule invokes it: the outcome is in the function's logs and metrics.
      const response = await new LambdaClient({ region }).send(
        new InvokeCommand({
          FunctionName: functionArn,
          InvocationType: 'Event',
          Payload: Buffer.from(input),
        }),
      );
      process.stdout.write(
        `  started ${target.sources?.[0]?.id ?? 'a source'} in ${region} (status ${response.StatusCode})\n`,
      );
    },
  });
} catch (error) {
  process.stderr.write(
    `npm run failover: ${error instanceof OpsError ? error.message : `unexpected ${(error as Error).name}: check credentials and regions, then run it again (it is safe to repeat)`}\n`,
  );
  process.exitCode = 1;
}
process.exit();
