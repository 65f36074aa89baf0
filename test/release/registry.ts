import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/moto.ts';

export const repo = resolve(import.meta.dirname, '../..');
const exec = promisify(execFile);

/** Runs a command; on failure the error carries what it printed. */
export async function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
) {
  try {
    return await exec(command, args, { cwd, env, maxBuffer: 50 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stderr ?? ''}\n${stdout ?? ''}`);
  }
}

export interface LocalRegistry {
  url: string;
  /** `.npmrc` lines that point npm at this registry with a publish token. */
  npmrc: string;
  stop(): Promise<void>;
}

/**
 * A real npm registry (verdaccio) on a free loopback port with throwaway storage.
 * Our scope is served from it alone; every other package is proxied from the
 * registry this machine's npm is configured with.
 */
export async function startRegistry(work: string): Promise<LocalRegistry> {
  mkdirSync(work, { recursive: true });
  const upstream = (await run('npm', ['config', 'get', 'registry'], work)).stdout.trim();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  mkdirSync(join(work, 'storage'), { recursive: true });
  const config = join(work, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${join(work, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(work, 'htpasswd')}`,
      '    max_users: 10',
      'uplinks:',
      '  upstream:',
      `    url: ${upstream}`,
      '    timeout: 60s',
      'packages:',
      "  '@token-refresher/*':",
      '    access: $all',
      '    publish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    proxy: upstream',
      'log: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  );
  const server: ChildProcess = spawn(
    process.execPath,
    [join(repo, 'node_modules/verdaccio/bin/verdaccio'), '--config', config, '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  server.stdout?.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  server.stderr?.on('data', (chunk) => (output = (output + chunk).slice(-4000)));
  const started = Date.now();
  for (;;) {
    try {
      if ((await fetch(`${url}-/ping`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 30_000 || server.exitCode !== null) {
      server.kill();
      throw new Error(`verdaccio did not start:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  // A throwaway user: verdaccio answers the CouchDB-style sign-up with a token.
  const signUp = await fetch(`${url}-/user/org.couchdb.user:rehearsal`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'rehearsal', password: `rehearsal-${port}`, type: 'user', roles: [] }),
  });
  const { token } = (await signUp.json()) as { token?: string };
  if (!token) throw new Error(`verdaccio refused the rehearsal user (HTTP ${signUp.status})`);
  const hostPath = url.replace(/^http:/, '');
  return {
    url,
    npmrc: `registry=${url}\n${hostPath}:_authToken=${token}\n`,
    stop: async () => {
      server.kill();
      await new Promise((done) => server.once('exit', done));
    },
  };
}
