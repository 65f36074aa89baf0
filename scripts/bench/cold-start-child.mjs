// One cold start: a fresh Node process imports a bundle and invokes its handler once.
// Plain JavaScript, so nothing but the bundle itself is loaded and timed. Also used by the bundle tests,
// which need the failure's class name (what Lambda reports as errorType) rather than a timing.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [bundle, eventJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);
const context = { getRemainingTimeInMillis: () => 30_000, functionName: 'bench', awsRequestId: 'bench' };
let errorName;
const attempt = async (step) => {
  try {
    return await step();
  } catch (error) {
    errorName ??= error?.name ?? typeof error;
    return undefined;
  }
};
const started = performance.now();
const module = await attempt(() => import(pathToFileURL(bundle).href));
const imported = performance.now();
const result = module && (await attempt(() => module.handler(event, context)));
const invoked = performance.now();
// A second, warm invocation: for our handlers the token is now fresh, the common case.
if (module) await attempt(() => module.handler(event, context));
const warm = performance.now();
const report = {
  node: process.version,
  importMs: imported - started,
  invokeMs: invoked - imported,
  warmMs: warm - invoked,
  ok: errorName === undefined,
  errorName,
  statuses: result?.outcomes?.map((outcome) => outcome.status),
};
process.stdout.write(`\nBENCH ${JSON.stringify(report)}\n`);
