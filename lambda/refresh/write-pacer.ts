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

  /** Resolves true when this caller may write; false, at once, when its turn would come after `deadline`. */
  async turn(deadline = Number.POSITIVE_INFINITY): Promise<boolean> {
    const now = this.#now();
    const slot = Math.max(now, this.#nextSlot);
    if (slot > deadline) return false;
    this.#nextSlot = slot + this.#intervalMs;
    if (slot > now) await this.#sleep(slot - now);
    return true;
  }
}
