/** esbuild settings shared by the CDK functions and `npm run bundle`, so what is measured is what ships. */
export const HANDLER_ENTRIES = {
  paypack: 'lambda/handlers/paypack.ts',
  papaya: 'lambda/handlers/papaya.ts',
  oauth2: 'lambda/handlers/oauth2.ts',
} as const;

export const CONSUMER_EXAMPLE_ENTRY = 'lambda/consumer/example-consumer.ts';

/** Lambda's nodejs24.x runs it; node20 syntax keeps the bundle runnable on the local Node 20 too. */
export const ESBUILD_TARGET = 'node20';

/** Some AWS SDK dependencies still call require(); an ESM bundle must define it. */
export const ESM_REQUIRE_BANNER =
  "import{createRequire}from'module';const require=createRequire(import.meta.url);";
