import { format } from 'node:util';
import { foldText, readings } from '../../lambda/text-views.ts';

// Powertools writes through the global console in dev mode, which lets tests capture every
// log line and EMF metric without touching process.stdout (the test runner's own channel).
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'TokenRefresherTest';

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** Everything written to the console, plus anything a test adds (errors, results), for leak scans. */
export class OutputCapture {
  readonly lines: string[] = [];
  readonly #originals = new Map<(typeof METHODS)[number], (...args: unknown[]) => void>();

  start(): this {
    for (const method of METHODS) {
      this.#originals.set(method, console[method]);
      console[method] = (...args: unknown[]) => {
        this.lines.push(format(...args));
        if (process.env.SHOW_TEST_LOGS) this.#originals.get(method)?.(...args);
      };
    }
    return this;
  }

  stop(): void {
    for (const [method, original] of this.#originals) console[method] = original;
    this.#originals.clear();
  }

  /** Adds something other than console output (a thrown error, a returned result) to the scanned text. */
  record(value: unknown): void {
    if (value instanceof Error) {
      this.lines.push(`${value.name}: ${value.message}\n${value.stack ?? ''}\n${JSON.stringify(value)}`);
    } else {
      this.lines.push(typeof value === 'string' ? value : JSON.stringify(value));
    }
  }

  jsonLines(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        const parsed = JSON.parse(line);
        return typeof parsed === 'object' && parsed !== null ? [parsed] : [];
      } catch {
        return [];
      }
    });
  }

  clear(): void {
    this.lines.length = 0;
  }
}

/**
 * Returns every sensitive value that appears in the captured text, in any reading
 * of any line (URL-, form-, JSON-, HTML-, hex- or base64-decoded, case-folded:
 * lambda/text-views.ts), so an echo in an encoding nobody listed is still found.
 * Empty when nothing leaked.
 */
export function findLeaks(text: string, sensitive: Iterable<string>): string[] {
  const wanted = [...sensitive].filter((value) => value.trim().length >= 6);
  const folded = wanted.map((value) => foldText(value.trim()));
  const found = new Set<number>();
  wanted.forEach((value, index) => {
    if (text.includes(value)) found.add(index);
  });
  const shortest = Math.min(...folded.map((value) => value.length));
  for (const line of new Set(text.split('\n'))) {
    if (line.length === 0 || folded.length === 0) continue;
    const { views } = readings(line, shortest);
    folded.forEach((value, index) => {
      if (!found.has(index) && views.some((view) => view.includes(value))) found.add(index);
    });
  }
  return [...found].map((index) => {
    const value = wanted[index] ?? '';
    return `${value.slice(0, 4)}… (${value.length} chars)`;
  });
}

let shared: OutputCapture | undefined;

/** One capture per process, started on first use and kept to the end. */
export function sharedCapture(): OutputCapture {
  shared ??= new OutputCapture().start();
  return shared;
}
