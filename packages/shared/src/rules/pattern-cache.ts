import { pythonRegExp } from './python-regexp.ts';

/**
 * The total length of the patterns kept. Rules are evaluated for every node, and translating a
 * pattern can cost far more than running it (a `(?i)` class with wide ranges some 70 µs, a
 * long hand-made one over 100 ms): a worker translates each once. Bounded by length, not count,
 * since one rule's body may hold megabytes of pattern; rules rewritten over months age out. The
 * length is the Python text's: a translation, with V8's compiled code, can be several times it.
 */
export const PATTERN_CACHE_CHARS = 1 << 20;

const patterns = new Map<string, RegExp>();
let cachedChars = 0;

/**
 * `pythonRegExp(pattern, { anchored })`, translated once while it stays among the most recently
 * used. The RegExp is shared: callers set `lastIndex` before each use (boundedTest does).
 */
export function cachedPythonRegExp(pattern: string, anchored: boolean): RegExp {
  const key = `${anchored ? 'match' : 'search'}:${pattern}`;
  const found = patterns.get(key);
  if (found) {
    // Map keeps insertion order: re-inserting marks the entry as the most recently used.
    patterns.delete(key);
    patterns.set(key, found);
    return found;
  }
  const translated = pythonRegExp(pattern, { anchored });
  if (key.length > PATTERN_CACHE_CHARS) return translated;
  patterns.set(key, translated);
  cachedChars += key.length;
  for (const oldest of patterns.keys()) {
    if (cachedChars <= PATTERN_CACHE_CHARS) break;
    patterns.delete(oldest);
    cachedChars -= oldest.length;
  }
  return translated;
}
