/**
 * `npm run build`: builds the two published packages from this repository's sources.
 *   @token-refresher/client  packages/client/dist  (tsc: ESM and declarations)
 *   @token-refresher/cdk     packages/cdk/dist     (the construct bundled by esbuild; aws-cdk-lib and
 *                                                   constructs stay the app's own)
 *                            packages/cdk/assets   (the three handlers, built by infra/handler-code.ts,
 *                                                   the function the repository's own synth uses)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildHandler } from '../infra/handler-code.ts';
import { PROVIDER_NAMES } from '../lambda/providers/provider-names.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const client = join(root, 'packages/client');
const cdk = join(root, 'packages/cdk');

function tsc(project: string): void {
  const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], {
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error(`tsc -p ${project} failed`);
}

/** Declarations nobody reaches from the entry (the refresher's runtime modules) are not shipped. */
function pruneUnreachable(typesRoot: string, entry: string): void {
  const reached = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (reached.has(file) || !existsSync(file)) continue;
    reached.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(
      /(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g,
    )) {
      pending.push(normalize(join(dirname(file), (specifier ?? '').replace(/\.(ts|js)$/, '.d.ts'))));
    }
  }
  const walk = (directory: string) => {
    for (const name of readdirSync(directory)) {
      const path = join(directory, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!reached.has(path)) rmSync(path);
    }
    if (readdirSync(directory).length === 0) rmSync(directory, { recursive: true });
  };
  walk(typesRoot);
}

rmSync(join(client, 'dist'), { recursive: true, force: true });
tsc(join(client, 'tsconfig.build.json'));

rmSync(join(cdk, 'dist'), { recursive: true, force: true });
rmSync(join(cdk, 'assets'), { recursive: true, force: true });
for (const provider of PROVIDER_NAMES) {
  const directory = join(cdk, 'assets', provider);
  mkdirSync(directory, { recursive: true });
  buildHandler(provider, directory);
}
await build({
  entryPoints: [join(root, 'infra/cdk.ts')],
  outfile: join(cdk, 'dist/index.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag', 'cdk-nag/*', 'esbuild'],
  logLevel: 'warning',
});
tsc(join(cdk, 'tsconfig.types.json'));
pruneUnreachable(join(cdk, 'dist/types'), join(cdk, 'dist/types/infra/cdk.d.ts'));
console.log(`built ${relative(root, client)} and ${relative(root, cdk)}`);
