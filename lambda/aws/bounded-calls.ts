/**
 * Every AWS call the refresher makes is bounded twice: per attempt by the SDK
 * (1 s to connect, 2 s to answer, with `throwOnRequestTimeout` so the answer
 * timeout is an error and not a warning), and as a whole by an abort signal
 * that fires at the run's store deadline. Two attempts of 1 s + 2 s, plus the
 * SDK's sub-second retry delay, fit the 5 s kept back from the Lambda timeout
 * (REFRESHER_SAFETY_MARGIN_MS), so a write started at the provider deadline
 * still ends before the function does.
 */
export const AWS_CLIENT_CONFIG = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
};

/** What an AWS call needs to know about the time it may take. */
export interface CallBudget {
  /** Wall-clock ms at which the call is abandoned. Undefined: only the per-attempt bounds apply. */
  deadline?: number | undefined;
}

/** Options for `client.send(command, options)`: an abort signal firing at the deadline, if there is one. */
export function sendOptions(budget: CallBudget | undefined, now = Date.now()): { abortSignal?: AbortSignal } {
  if (budget?.deadline === undefined) return {};
  return { abortSignal: AbortSignal.timeout(Math.max(1, Math.floor(budget.deadline - now))) };
}

/** True once the budget's deadline has passed: a call that failed then was cut by the budget, not by AWS. */
export function budgetSpent(budget: CallBudget | undefined, now = Date.now()): boolean {
  return budget?.deadline !== undefined && now >= budget.deadline;
}
