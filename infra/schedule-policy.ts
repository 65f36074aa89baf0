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
 *
 * Problems are stated in minutes, the unit of the stage configuration, and the
 * advice is always reachable: never a threshold at or above the token lifetime.
 */

/** Consumers stop using a cached token this long before it expires (packages/client/src/get-token.ts). */
export const CONSUMER_MARGIN_SECONDS = 60;
export interface SchedulePlan {
  periodSeconds: number;
  /** Scheduler's flexible time window: runs may be a period plus this apart. */
  windowSeconds?: number;
  thresholdSeconds: number;
  lifetimeSeconds: number;
  runTimeoutSeconds: number;
}

/** Which setting to change: the period or the threshold. */
export interface ScheduleProblem {
  field: 'period' | 'threshold';
  message: string;
}

/** `90` → `1.5 min`; whole minutes stay whole. */
export function minutes(seconds: number): string {
  return `${Number((seconds / 60).toFixed(2))} min`;
}

export function scheduleProblem(plan: SchedulePlan): ScheduleProblem | undefined {
  const { periodSeconds, thresholdSeconds, lifetimeSeconds, runTimeoutSeconds } = plan;
  const windowSeconds = plan.windowSeconds ?? 0;
  if (!Number.isInteger(periodSeconds / 60) || periodSeconds < 60) {
    return {
      field: 'period',
      message: `the period must be a whole number of minutes, at least 1 (EventBridge Scheduler's granularity); got ${minutes(periodSeconds)}`,
    };
  }
  // The highest threshold a stage can set: whole minutes, strictly below the lifetime.
  const highestThreshold = (Math.ceil(lifetimeSeconds / 60) - 1) * 60;
  const fixed = runTimeoutSeconds + CONSUMER_MARGIN_SECONDS;
  const longestPeriodFor = (threshold: number) => Math.floor(((threshold - fixed) / 2 - windowSeconds) / 60);
  if (thresholdSeconds >= lifetimeSeconds) {
    const advice =
      highestThreshold >= 60
        ? `lower it to ${minutes(highestThreshold)} or less`
        : 'this token lives too briefly to be refreshed on a schedule';
    return {
      field: 'threshold',
      message: `the refresh threshold (${minutes(thresholdSeconds)}) must be below the token lifetime (${minutes(lifetimeSeconds)}): ${advice}`,
    };
  }
  const needed = 2 * (periodSeconds + windowSeconds) + fixed;
  if (thresholdSeconds >= needed) return undefined;

  const rule =
    `needs threshold >= 2 x ${windowSeconds ? `(period + ${minutes(windowSeconds)} window)` : 'period'}` +
    ` + ${minutes(runTimeoutSeconds)} run timeout + ${minutes(CONSUMER_MARGIN_SECONDS)} consumer margin = ${minutes(needed)}` +
    `, and the token lives ${minutes(lifetimeSeconds)}`;
  const options: string[] = [];
  const longestNow = longestPeriodFor(thresholdSeconds);
  if (longestNow >= 1) options.push(`shorten the period to ${longestNow} min or less`);
  const neededWhole = Math.ceil(needed / 60) * 60;
  if (neededWhole < lifetimeSeconds) {
    options.push(
      `raise the threshold to ${minutes(neededWhole)} (below the ${minutes(lifetimeSeconds)} lifetime)`,
    );
  } else {
    const longestAtHighest = longestPeriodFor(highestThreshold);
    if (longestAtHighest > longestNow && longestAtHighest >= 1) {
      options.push(
        `raise the threshold to ${minutes(highestThreshold)} and shorten the period to ${longestAtHighest} min or less`,
      );
    }
  }
  const advice =
    options.length > 0
      ? options.join(', or ')
      : `no schedule fits: shorten the run timeout (${minutes(runTimeoutSeconds)}) or the schedule window`;
  return {
    field: longestNow >= 1 || neededWhole >= lifetimeSeconds ? 'period' : 'threshold',
    message: `a ${minutes(periodSeconds)} period with a ${minutes(thresholdSeconds)} threshold lets the token expire after one failed run (${rule}): ${advice}`,
  };
}
