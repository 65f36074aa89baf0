import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceDefinition } from '../../lambda/config/source-config.ts';
import type { SourceOutcome } from '../../lambda/refresh/refresh-source.ts';

/** Where local mode keeps its log and its state; tests point it elsewhere. */
export const LOCAL_DIR = process.env.LOCAL_STATE_DIR ?? '.local';
export const LOG_FILE = join(LOCAL_DIR, 'refresher.log');
const STATE_FILE = join(LOCAL_DIR, 'state.json');
/** Outcomes of `npm run refresh` against local mode, one JSON line each, for the live table. */
const FORCED_FILE = join(LOCAL_DIR, 'forced-refreshes.jsonl');

/** What a running `npm start` tells the ops commands: where its AWS is, and its sources. No secrets. */
export interface LocalState {
  pid: number;
  awsEndpoint: string;
  lockTable: string;
  sources: SourceDefinition[];
  /** The local mode's accelerated clock: simulated now = clockStartedAt + (wall now − clockStartedAt) × speed. */
  speed: number;
  clockStartedAt: number;
}

export function writeLocalState(state: LocalState): void {
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
}

export function readLocalState(): LocalState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LocalState;
}

export function clearLocalState(): void {
  rmSync(STATE_FILE, { force: true });
}

/** Outcomes hold no secret: source, provider, status, expiry, error code and its safe message. */
export function recordForcedRefresh(outcome: SourceOutcome): void {
  appendFileSync(FORCED_FILE, `${JSON.stringify(outcome)}\n`);
}

/** The forced refreshes recorded after the first `seen`, and how many there are now. */
export function forcedRefreshesSince(seen: number): { outcomes: SourceOutcome[]; seen: number } {
  if (!existsSync(FORCED_FILE)) return { outcomes: [], seen };
  const lines = readFileSync(FORCED_FILE, 'utf8').split('\n').filter(Boolean);
  return { outcomes: lines.slice(seen).map((line) => JSON.parse(line) as SourceOutcome), seen: lines.length };
}

export function clearForcedRefreshes(): void {
  rmSync(FORCED_FILE, { force: true });
}
