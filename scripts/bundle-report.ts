/**
 * `npm run bundle`: builds each handler exactly as it ships (infra/bundling.ts, the options the CDK
 * functions use) and prints its size, what keeping class names costs, and the largest contributors.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { esbuildOptions, HANDLER_ENTRIES } from '../infra/bundling.ts';
import { isMainModule } from './main-module.ts';

export interface BundleSize {
  name: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  packages: [string, number][];
}

export async function buildBundle(
  name: string,
  entry: string,
  outfile: string,
  overrides: { keepNames?: boolean } = {},
): Promise<BundleSize> {
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    ...esbuildOptions(entry, outfile, overrides),
    metafile: true,
    logLevel: 'warning',
  });
  const code = readFileSync(outfile);
  return {
    name,
    file: outfile,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    packages: byPackage(result.metafile),
  };
}

export function measureHandlerBundles(outDir = 'dist/bundles'): Promise<BundleSize[]> {
  return Promise.all(
    Object.entries(HANDLER_ENTRIES).map(([name, entry]) => buildBundle(name, entry, `${outDir}/${name}.mjs`)),
  );
}

function byPackage(metafile: Metafile): [string, number][] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const inModules = input.split('node_modules/')[1];
      const name = inModules
        ? inModules
            .split('/')
            .slice(0, inModules.startsWith('@') ? 2 : 1)
            .join('/')
        : '(this project)';
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

if (isMainModule(import.meta.url)) {
  for (const size of await measureHandlerBundles()) {
    const withoutNames = await buildBundle(
      size.name,
      HANDLER_ENTRIES[size.name as keyof typeof HANDLER_ENTRIES],
      `dist/bundles/${size.name}.no-names.mjs`,
      { keepNames: false },
    );
    console.log(`${size.name}: ${kib(size.bytes)} minified ESM, ${kib(size.gzipBytes)} gzipped`);
    console.log(
      `  keeping names costs ${kib(size.bytes - withoutNames.bytes)} (${(((size.bytes - withoutNames.bytes) / withoutNames.bytes) * 100).toFixed(1)}%)`,
    );
    for (const [name, bytes] of size.packages.slice(0, 14)) console.log(`  ${name.padEnd(40)} ${kib(bytes)}`);
  }
}
