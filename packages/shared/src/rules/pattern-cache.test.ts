import { describe, expect, it } from 'vitest';
import { PATTERN_CACHE_CHARS, cachedPythonRegExp } from './pattern-cache.ts';
import { pythonRegExp } from './python-regexp.ts';

/** A pattern of about `length` characters, distinct by `tag`. */
const long = (tag: string, length: number) => `${tag}:${'x'.repeat(length - tag.length - 1)}`;

describe('cachedPythonRegExp', () => {
  it('translates as pythonRegExp does, search and match apart', () => {
    for (const anchored of [false, true]) {
      const pattern = '(?i)[a-z]+ \\d{,3}$';
      expect(cachedPythonRegExp(pattern, anchored).source).toBe(
        pythonRegExp(pattern, { anchored }).source,
      );
    }
    expect(cachedPythonRegExp('ssd', true).test('a ssd')).toBe(false);
    expect(cachedPythonRegExp('ssd', false).test('a ssd')).toBe(true);
  });

  it('translates a pattern once while it is kept', () => {
    const first = cachedPythonRegExp('(?i)[\\u0100-\\uffff]+ kept', false);
    expect(cachedPythonRegExp('(?i)[\\u0100-\\uffff]+ kept', false)).toBe(first);
  });

  it('lets the least recently used patterns go past its length bound', () => {
    const size = Math.floor(PATTERN_CACHE_CHARS / 4);
    const old = cachedPythonRegExp(long('old', size), false);
    const used = cachedPythonRegExp(long('used', size), false);
    const unused = cachedPythonRegExp(long('a', size), false);
    expect(cachedPythonRegExp(long('used', size), false)).toBe(used);
    // Two more: two must go, the oldest and the one added after `used` but not read since.
    cachedPythonRegExp(long('b', size), false);
    cachedPythonRegExp(long('c', size), false);
    expect(cachedPythonRegExp(long('used', size), false)).toBe(used);
    expect(cachedPythonRegExp(long('a', size), false)).not.toBe(unused);
    expect(cachedPythonRegExp(long('old', size), false)).not.toBe(old);
  });

  it('does not keep a pattern longer than the bound, nor one that fails', () => {
    const huge = long('huge', PATTERN_CACHE_CHARS + 1);
    expect(cachedPythonRegExp(huge, false)).not.toBe(cachedPythonRegExp(huge, false));
    expect(() => cachedPythonRegExp('(?x)a', false)).toThrow(/inline flag x/);
    expect(() => cachedPythonRegExp('(?x)a', false)).toThrow(/inline flag x/);
  });
});
