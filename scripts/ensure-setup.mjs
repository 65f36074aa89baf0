// Runs before `npm test` and `npm start` (plain JS: it must work before anything is installed).
// Installs the locked dependencies when they are missing or stale, and checks for moto_server.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const installedMarker = 'node_modules/.package-lock.json';
const stale =
  !existsSync(installedMarker) || statSync('package-lock.json').mtimeMs > statSync(installedMarker).mtimeMs;
if (stale) {
  console.error('Installing dependencies (npm ci; the project then runs on the Node 24 it installs)...');
  // The machine's own Node may be older than the packages' engines: npm would print a warning for
  // each of them, although nothing runs on that Node. Errors still show.
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: 'inherit',
  });
  if (install.status !== 0) process.exit(install.status ?? 1);
}

if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status !== 0) {
  console.error('moto_server (the AWS emulator the tests and local mode use) is not on PATH.');
  console.error('Install it with: pip install "moto[server]"   (Python 3.9+)');
  process.exit(1);
}
