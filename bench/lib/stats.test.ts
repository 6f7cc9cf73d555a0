import { describe, expect, it } from 'vitest';
import { percentile, round, summarize, tally } from './stats.ts';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('picks the value at the rank, never between two', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30], 99)).toBe(30);
  });

  it('stays within the list at the edges, NaN when empty', () => {
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('summarize', () => {
  it('sorts a copy and reports count, mean, percentiles, max and total', () => {
    const values = [5, 1, 4, 2, 3];
    expect(summarize(values)).toEqual({
      count: 5,
      mean: 3,
      p50: 3,
      p90: 5,
      p99: 5,
      max: 5,
      total: 15,
    });
    expect(values).toEqual([5, 1, 4, 2, 3]);
  });

  it('has no mean or max for nothing', () => {
    const empty = summarize([]);
    expect(empty.count).toBe(0);
    expect(empty.mean).toBeNaN();
    expect(empty.max).toBeNaN();
  });
});

describe('round and tally', () => {
  it('rounds to the digits asked', () => {
    expect(round(83.6666)).toBe(83.7);
    expect(round(0.12345, 3)).toBe(0.123);
    expect(round(2.5, 0)).toBe(3);
  });

  it('counts each distinct value, largest first', () => {
    expect(tally(['503', '409', '503', '503', '409', '500'])).toEqual([
      ['503', 3],
      ['409', 2],
      ['500', 1],
    ]);
  });
});
