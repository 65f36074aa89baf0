import pLimit from 'p-limit';
import type { ResolvedSource } from '../config/source-config.ts';
import {
  type RefreshDependencies,
  type RefreshRequest,
  refreshSource,
  type SourceOutcome,
} from './refresh-source.ts';

/** Sources refreshed in parallel by one invocation: enough to overlap network waits, few enough for SSM write limits. */
export const DEFAULT_SOURCE_CONCURRENCY = 4;

/** Runs every source's cycle with bounded concurrency; one source failing never stops the others. */
export async function refreshAll(
  sources: readonly ResolvedSource[],
  deps: RefreshDependencies,
  request: RefreshRequest = {},
  concurrency = DEFAULT_SOURCE_CONCURRENCY,
): Promise<SourceOutcome[]> {
  const limit = pLimit(concurrency);
  return Promise.all(sources.map((source) => limit(() => refreshSource(source, deps, request))));
}
