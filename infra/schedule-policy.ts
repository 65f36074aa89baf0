/**
 * When a source's schedule can keep its token alive. A run refreshes once the
 * token has `threshold` or less left; runs come every `period`. The first run to
 * see the threshold finds between threshold - period and threshold left. If that
 * run fails, the next one comes a period later, with more than
 * threshold - 2 * period left, and must still find the token alive with time
 * for a whole run (`runTimeout`) to finish, plus a minute for consumers (which
 * stop caching a token 60 s before it expires). Hence:
 *
 *     threshold >= 2 * period + runTimeout + 60 s      and      threshold < lifetime
 */

/** Consumers stop using a cached token this long before it expires (lambda/consumer/get-token.ts). */
export const CONSUMER_MARGIN_SECONDS = 60;
export interface SchedulePlan {
  periodSeconds: number;
  /** Scheduler's flexible time window: runs may be a period plus this apart. */
  windowSeconds?: number;
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
  const windowSeconds = plan.windowSeconds ?? 0;
  const needed = 2 * (periodSeconds + windowSeconds) + runTimeoutSeconds + CONSUMER_MARGIN_SECONDS;
  if (thresholdSeconds < needed) {
    const longestPeriod = Math.floor(
      ((thresholdSeconds - runTimeoutSeconds - CONSUMER_MARGIN_SECONDS) / 2 - windowSeconds) / 60,
    );
    const advice =
      longestPeriod >= 1 ? `shorten the period to ${longestPeriod} min or less` : 'raise the threshold';
    return (
      `a ${periodSeconds / 60} min period with a ${thresholdSeconds} s threshold lets the token expire after one failed run ` +
      `(needs threshold >= 2 x ${windowSeconds ? `(period + ${windowSeconds} s window)` : 'period'} + ${runTimeoutSeconds} s run timeout + ${CONSUMER_MARGIN_SECONDS} s consumer margin = ${needed} s): ${advice}, or raise the threshold to ${needed} s (below the ${lifetimeSeconds} s lifetime)`
    );
  }
  return undefined;
}
