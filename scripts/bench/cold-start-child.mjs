// One cold start: a fresh Node process imports a bundle and invokes its handler once.
// Plain JavaScript, so nothing but the bundle itself is loaded and timed.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [bundle, eventJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);
const context = { getRemainingTimeInMillis: () => 30_000, functionName: 'bench', awsRequestId: 'bench' };
const started = performance.now();
const module = await import(pathToFileURL(bundle).href);
const imported = performance.now();
let ok = true;
try {
  await module.handler(event, context);
} catch {
  ok = false;
}
const invoked = performance.now();
// A second, warm invocation: for our handlers the token is now fresh, the common case.
try {
  await module.handler(event, context);
} catch {
  ok = false;
}
const warm = performance.now();
process.stdout.write(
  `\nBENCH ${JSON.stringify({ importMs: imported - started, invokeMs: invoked - imported, warmMs: warm - invoked, ok })}\n`,
);
