/** A clock that runs `speed` times faster than the wall clock, from the moment it is created. */
export class AcceleratedClock {
  readonly startedAt = Date.now();
  constructor(readonly speed: number) {}

  now = (): number => this.startedAt + (Date.now() - this.startedAt) * this.speed;

  /** Wall-clock milliseconds that `simulatedSeconds` take. */
  realMs(simulatedSeconds: number): number {
    return (simulatedSeconds * 1000) / this.speed;
  }
}
