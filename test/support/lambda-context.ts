import type { Context } from 'aws-lambda';

/** A Lambda context whose remaining time runs down with the wall clock. */
export function lambdaContext(remainingMs: number): Context {
  const end = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => end - Date.now() } as Context;
}
