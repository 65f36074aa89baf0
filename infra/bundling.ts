/**
 * How every function is bundled, in one place: the CDK functions, `npm run bundle`, the bundle tests and
 * the benchmark (handlers and reference alike) all build with these options, so what is measured is
 * what ships.
 */
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

export const HANDLER_ENTRIES = {
  paypack: 'lambda/handlers/paypack.ts',
  papaya: 'lambda/handlers/papaya.ts',
  oauth2: 'lambda/handlers/oauth2.ts',
} as const;

export const CONSUMER_EXAMPLE_ENTRY = 'lambda/consumer/example-consumer.ts';

/** What Lambda's nodejs24.x runs; the project runs on Node 24 too (the `node` devDependency). */
export const ESBUILD_TARGET = 'node24';

/** Some AWS SDK dependencies still call require(); an ESM bundle must define it. */
export const ESM_REQUIRE_BANNER =
  "import{createRequire}from'module';const require=createRequire(import.meta.url);";

/**
 * The AWS SDK's advice for ESM bundles: prefer each package's `module` (ES module) build. Without it
 * esbuild picks the SDK's CommonJS builds, which are larger and slower to load.
 */
const MAIN_FIELDS = ['module', 'main'];

/**
 * Minified, but class and function names kept, so an error reaches Lambda's error report as
 * `ConfigError` rather than a two-letter name (`npm run bundle` prints what this costs).
 */
const KEEP_NAMES = true;

/** `bundling` for a NodejsFunction: ESM, minified, built by the local esbuild. */
export function lambdaBundling(options: { bundleAwsSDK: boolean }): nodejs.BundlingOptions {
  return {
    format: nodejs.OutputFormat.ESM,
    minify: true,
    target: ESBUILD_TARGET,
    mainFields: MAIN_FIELDS,
    keepNames: KEEP_NAMES,
    banner: ESM_REQUIRE_BANNER,
    bundleAwsSDK: options.bundleAwsSDK,
    forceDockerBundling: false,
  };
}

/** The same build for esbuild's API, with every dependency bundled (as the refresh handlers ship). */
export function esbuildOptions(entry: string, outfile: string, overrides: { keepNames?: boolean } = {}) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: true,
    target: ESBUILD_TARGET,
    mainFields: MAIN_FIELDS,
    keepNames: overrides.keepNames ?? KEEP_NAMES,
    banner: { js: ESM_REQUIRE_BANNER },
  } satisfies BuildOptions;
}
