export interface RetryPolicy {
  /** Total attempts, the first one included. */
  attempts: number;
  /** Delay before the second attempt; doubles each time, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export function backoffDelay(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Full jitter keeps many workers that failed together from retrying together.
  return Math.round(exp / 2 + (random() * exp) / 2);
}

/** The longest `attempts` calls of at most `callMs` each, with the back-off between them, can take. */
export function retryBudgetMs(policy: RetryPolicy, callMs: number): number {
  let total = policy.attempts * callMs;
  // The longest back-off: jitter at its top.
  for (let attempt = 1; attempt < policy.attempts; attempt++) {
    total += backoffDelay(policy, attempt, () => 1);
  }
  return total;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, `shouldRetry` says no, or the attempts run out.
 * The last error is rethrown as it is.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  fn: (attempt: number) => Promise<T>,
  shouldRetry: (err: unknown) => boolean,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.attempts || !shouldRetry(err)) throw err;
      await sleep(backoffDelay(policy, attempt));
    }
  }
}
