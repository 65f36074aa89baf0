/**
 * When a source's schedule can keep its token alive. A run refreshes once the
 * token has `threshold` or less left; runs come every `period`. The first run to
 * see the threshold finds between threshold - period and threshold left. If that
 * run fails, the next one comes a period later, with more than
 * threshold - 2 * period left, and must still find the token alive with time
 * for a whole run (`runTimeout`) to finish. Hence:
 *
 *     threshold >= 2 * period + runTimeout      and      threshold < lifetime
 */
export interface SchedulePlan {
  periodSeconds: number;
  thresholdSeconds: number;
  lifetimeSeconds: number;
  runTimeoutSeconds: number;
}

export function scheduleProblem(plan: SchedulePlan): string | undefined {
  const { periodSeconds, thresholdSeconds, lifetimeSeconds, runTimeoutSeconds } = plan;
  if (!Number.isInteger(periodSeconds / 60) || periodSeconds < 60) {
    return `the period must be a whole number of minutes, at least 1 (EventBridge Scheduler's granularity); got ${periodSeconds} s`;
  }
  if (thresholdSeconds >= lifetimeSeconds) {
    return `the refresh threshold (${thresholdSeconds} s) must be below the token lifetime (${lifetimeSeconds} s)`;
  }
  const needed = 2 * periodSeconds + runTimeoutSeconds;
  if (thresholdSeconds < needed) {
    const longestPeriod = Math.floor((thresholdSeconds - runTimeoutSeconds) / 2 / 60);
    const advice =
      longestPeriod >= 1 ? `shorten the period to ${longestPeriod} min or less` : 'raise the threshold';
    return (
      `a ${periodSeconds / 60} min period with a ${thresholdSeconds} s threshold lets the token expire after one failed run ` +
      `(needs threshold >= 2 x period + ${runTimeoutSeconds} s run timeout = ${needed} s): ${advice}, or raise the threshold to ${needed} s (below the ${lifetimeSeconds} s lifetime)`
    );
  }
  return undefined;
}
