/**
 * `npm run bundle`: builds each handler exactly as it ships (ESM, minified, every
 * dependency bundled) and prints its size with the largest contributors.
 */
import { mkdirSync } from 'node:fs';
import { build, type Metafile } from 'esbuild';

export const HANDLER_ENTRIES = {
  paypack: 'lambda/handlers/paypack.ts',
  papaya: 'lambda/handlers/papaya.ts',
} as const;

/** Options shared with the CDK NodejsFunction bundling, so what is measured is what is deployed. */
export const ESBUILD_OPTIONS = {
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Some AWS SDK dependencies still call require(); ESM bundles need it defined.
  banner: { js: "import{createRequire}from'module';const require=createRequire(import.meta.url);" },
} as const;

export interface BundleSize {
  handler: string;
  bytes: number;
  gzipBytes: number;
  packages: [string, number][];
}

export async function measureBundles(outDir = 'dist/bundles'): Promise<BundleSize[]> {
  mkdirSync(outDir, { recursive: true });
  const { gzipSync } = await import('node:zlib');
  const { readFileSync } = await import('node:fs');
  const sizes: BundleSize[] = [];
  for (const [handler, entry] of Object.entries(HANDLER_ENTRIES)) {
    const outfile = `${outDir}/${handler}.mjs`;
    const result = await build({
      ...ESBUILD_OPTIONS,
      entryPoints: [entry],
      outfile,
      metafile: true,
      logLevel: 'warning',
    });
    const code = readFileSync(outfile);
    sizes.push({
      handler,
      bytes: code.length,
      gzipBytes: gzipSync(code).length,
      packages: byPackage(result.metafile),
    });
  }
  return sizes;
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

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const size of await measureBundles()) {
    console.log(`${size.handler}: ${kib(size.bytes)} minified ESM, ${kib(size.gzipBytes)} gzipped`);
    for (const [name, bytes] of size.packages.slice(0, 12)) console.log(`  ${name.padEnd(40)} ${kib(bytes)}`);
  }
}
