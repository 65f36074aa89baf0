/**
 * Spaces SSM writes at most `perSecond` apart within one container, so a
 * container refreshing many sources stays under PutParameter's throughput
 * (fleet-wide rate = this × the function's concurrency).
 */
export class WritePacer {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #nextSlot = 0;

  constructor(perSecond: number, now: () => number, sleep: (ms: number) => Promise<void>) {
    this.#intervalMs = 1000 / perSecond;
    this.#now = now;
    this.#sleep = sleep;
  }

  /** Resolves when this caller may write. */
  async turn(): Promise<void> {
    const now = this.#now();
    const slot = Math.max(now, this.#nextSlot);
    this.#nextSlot = slot + this.#intervalMs;
    if (slot > now) await this.#sleep(slot - now);
  }
}
