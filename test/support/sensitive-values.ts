/** Every secret, token and refresh token a test process has seen, for the leak detector. */
const values = new Set<string>();
const sources: (() => Iterable<string>)[] = [];

export function registerSensitive(...secrets: string[]): void {
  for (const secret of secrets) values.add(secret);
}

/** A source read at scan time, e.g. everything a sandbox issued. */
export function registerSensitiveSource(source: () => Iterable<string>): void {
  sources.push(source);
}

export function allSensitiveValues(): Set<string> {
  const all = new Set(values);
  for (const source of sources) for (const value of source()) all.add(value);
  return all;
}
