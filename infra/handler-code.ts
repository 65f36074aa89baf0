import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { ProviderName } from '../lambda/providers/provider-names.ts';
import { esbuildOptions, HANDLER_ENTRIES } from './bundling.ts';

/** The file each handler bundle is written to; the function's handler is `index.handler`. */
export const HANDLER_FILE = 'index.mjs';

/**
 * A refresher function's code, one path for every app: a directory holding the
 * handler bundled by `buildHandler`. @token-refresher/cdk ships those directories
 * built (`assets/<provider>/`, beside its `dist/`), so another team's app needs
 * neither esbuild nor the refresher's dependencies and deploys the bytes this
 * repository tested; in this repository they are built on first use.
 */
export function handlerCode(provider: ProviderName): lambda.Code {
  const packaged = fileURLToPath(new URL(`../assets/${provider}`, import.meta.url));
  if (existsSync(join(packaged, HANDLER_FILE))) return lambda.Code.fromAsset(packaged);
  return lambda.Code.fromAsset(builtInThisProcess(provider));
}

const built = new Map<ProviderName, string>();

/** One build per provider and process, in a directory of its own (test processes run side by side). */
function builtInThisProcess(provider: ProviderName): string {
  let directory = built.get(provider);
  if (!directory) {
    directory = mkdtempSync(join(tmpdir(), `token-refresher-${provider}-`));
    buildHandler(provider, directory);
    built.set(provider, directory);
  }
  return directory;
}

/** Bundles one handler from this repository's sources into `directory` with the shared esbuild settings. */
export function buildHandler(provider: ProviderName, directory: string): string {
  const entry = fileURLToPath(new URL(`../${HANDLER_ENTRIES[provider]}`, import.meta.url));
  // Loaded only here: the packaged construct never builds, so it never needs esbuild.
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const outfile = join(directory, HANDLER_FILE);
  esbuild.buildSync(esbuildOptions(entry, outfile));
  return outfile;
}
