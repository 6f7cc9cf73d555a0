import { describe, expect, it } from 'vitest';
import { TtlLru } from './ttl-lru.ts';

describe('TtlLru', () => {
  it('forgets an entry at its deadline', () => {
    const lru = new TtlLru<string>(10);
    lru.set('a', 'A', 2_000, 1_000);
    expect(lru.get('a', 1_999)).toBe('A');
    expect(lru.get('a', 2_000)).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('does not store what is already expired, and drops the older value', () => {
    const lru = new TtlLru<string>(10);
    lru.set('a', 'old', 5_000, 1_000);
    lru.set('a', 'new', 1_000, 1_000);
    expect(lru.get('a', 1_000)).toBeUndefined();
  });

  it('evicts the least recently used past its size', () => {
    const lru = new TtlLru<number>(2);
    lru.set('a', 1, 10_000, 0);
    lru.set('b', 2, 10_000, 0);
    expect(lru.get('a', 1)).toBe(1);
    lru.set('c', 3, 10_000, 2);
    expect(lru.size).toBe(2);
    expect(lru.get('b', 3)).toBeUndefined();
    expect(lru.get('a', 3)).toBe(1);
    expect(lru.get('c', 3)).toBe(3);
  });

  it('stays bounded under many keys', () => {
    const lru = new TtlLru<number>(100);
    for (let i = 0; i < 10_000; i++) lru.set(`k${i}`, i, 1e12, 0);
    expect(lru.size).toBe(100);
    expect(lru.get('k9999', 1)).toBe(9999);
    expect(lru.get('k0', 1)).toBeUndefined();
  });

  it('refuses a size below one', () => {
    expect(() => new TtlLru(0)).toThrow(RangeError);
  });
});
