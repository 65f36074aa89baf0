import { spawn } from 'node:child_process';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { World } from '../support/world.ts';

const CRASH_CHILD_LIMIT_MS = 60_000;

/**
 * Runs a forced refresh in a child process and SIGKILLs it once the provider has spent the refresh token.
 * A child that ends any other way did not produce the crash this case is about, so the case stops there
 * with what the child printed, rather than reporting on a run that never crashed.
 */
export async function crashAfterSpend(world: World, source: SourceDefinition): Promise<void> {
  const secret = await world.aws.secretsManager.send(
    new GetSecretValueCommand({ SecretId: source.secretId }),
  );
  const clientId = (JSON.parse(secret.SecretString ?? '{}') as { client_id?: string }).client_id;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/refresh-child.ts'], {
    env: {
      ...process.env,
      REFRESH_CHILD_ENDPOINT: world.moto.endpoint,
      REFRESH_CHILD_SOURCES: JSON.stringify([source]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const ended = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  let spent = false;
  // Only this source's spend counts: a presentation for another source must not kill the child early.
  world.paypack.onRefreshSpent = (spentBy) => {
    if (spentBy !== clientId) return;
    spent = true;
    child.kill('SIGKILL');
  };
  // A child that never reaches the spend must fail the case, not hang the suite.
  const giveUp = setTimeout(() => child.kill('SIGKILL'), CRASH_CHILD_LIMIT_MS);
  const signal = await ended;
  clearTimeout(giveUp);
  world.paypack.onRefreshSpent = undefined;
  if (!spent || signal !== 'SIGKILL') {
    throw new Error(
      `the child run ended without being killed after the spend (${spent ? (signal ?? 'exited') : `no spend within ${CRASH_CHILD_LIMIT_MS} ms or exited first`}):\n${output}`,
    );
  }
}
