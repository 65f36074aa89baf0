/**
 * Loaded into every test process (`node --import`): at the end of the file it
 * scans all captured console output (Powertools logs and EMF metrics go there),
 * plus every error and result the tests recorded, for every secret, token and
 * refresh token the sandboxes and tests registered. One hit fails the run as a
 * failure of the file's root hook.
 */
import { after } from 'node:test';
import { findLeaks, sharedCapture } from './capture.ts';
import { allSensitiveValues } from './sensitive-values.ts';

export { registerSensitive } from './sensitive-values.ts';

// Capture from the very start of the test file.
sharedCapture();

export function scanForLeaks(): string[] {
  return findLeaks(sharedCapture().lines.join('\n'), allSensitiveValues());
}

after(() => {
  const leaks = scanForLeaks();
  if (leaks.length > 0) {
    throw new Error(
      `leak detector: ${leaks.length} secret(s) or token(s) appeared in captured output: ${leaks.join(', ')}`,
    );
  }
});
