import { describe, expect, it } from 'vitest';
import { backoffDelay, retryBudgetMs, withRetry } from './retry.ts';

const policy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 5000 };

describe('backoffDelay', () => {
  it('doubles up to the cap, with jitter between half and all of it', () => {
    expect(backoffDelay(policy, 1, () => 0)).toBe(250);
    expect(backoffDelay(policy, 1, () => 1)).toBe(500);
    expect(backoffDelay(policy, 3, () => 1)).toBe(2000);
    expect(backoffDelay(policy, 10, () => 0.5)).toBe(3750);
  });
});

describe('retryBudgetMs', () => {
  it('adds every attempt at its longest and the longest back-off between them', () => {
    // 3 calls of 100 ms, then back-offs of at most 500 and 1000 ms.
    expect(retryBudgetMs(policy, 100)).toBe(1800);
    expect(retryBudgetMs({ attempts: 1, baseDelayMs: 500, maxDelayMs: 5000 }, 100)).toBe(100);
    // Capped: 6 back-offs of 500, 1000, 2000, 4000, 5000, 5000.
    expect(retryBudgetMs({ ...policy, attempts: 7 }, 0)).toBe(17_500);
  });
});

describe('withRetry', () => {
  const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };

  it('retries what shouldRetry allows until an attempt succeeds', async () => {
    const seen: number[] = [];
    const result = await withRetry(
      fast,
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw new Error('busy');
        return 'done';
      },
      () => true,
    );
    expect(result).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('rethrows the last error when attempts run out, and at once what is not retryable', async () => {
    let calls = 0;
    await expect(
      withRetry(
        fast,
        () => Promise.reject(new Error(`fail ${++calls}`)),
        () => true,
      ),
    ).rejects.toThrow('fail 3');
    calls = 0;
    await expect(
      withRetry(
        fast,
        () => Promise.reject(new Error(`fail ${++calls}`)),
        () => false,
      ),
    ).rejects.toThrow('fail 1');
  });
});
