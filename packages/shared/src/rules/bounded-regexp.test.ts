import { describe, expect, it } from 'vitest';
import { REGEXP_TIME_LIMIT_MS, boundedTest } from './bounded-regexp.ts';
import { conditionHolds } from './conditions.ts';
import { pythonRegExp } from './python-regexp.ts';

const evil = 'a'.repeat(40);

describe('boundedTest', () => {
  it('runs a catastrophic pattern the linear engine takes in linear time, with the same answers', () => {
    const test = boundedTest(/^(?:(a+)+b)$/, 'the pattern');
    expect(test(evil)).toBe(false);
    expect(test(`${evil}b`)).toBe(true);
    expect(test('a'.repeat(100_000))).toBe(false);
  });

  it('stops a backtracking pattern the linear engine refuses, naming it', () => {
    // `i` and the backreference each keep this pattern from the linear engine.
    const test = boundedTest(/^(?:(a+)+\1b)$/i, 'Condition matches "(a+)+\\\\1b"');
    expect(() => test(evil)).toThrow(
      `Condition matches "(a+)+\\\\1b" ran for over ${REGEXP_TIME_LIMIT_MS} ms on a value of 40 characters`,
    );
    // Unbounded, that input would run for hours (past the test's own time limit).
    expect(test('AAb')).toBe(true);
    expect(test('ab')).toBe(false);
  });

  it('gives the answers of the plain RegExp for Python-translated patterns', () => {
    const inputs = ['ab', 'xab', 'AB', 'a\nb', 'ab\n', ''];
    for (const pattern of [
      '\\Aab\\Z',
      '(?i)ab',
      '(?m)^b',
      '(?P<x>a)(?P=x)?b',
      'a(?=b)',
      '(?s)a.b',
    ]) {
      const re = pythonRegExp(pattern);
      const test = boundedTest(re, pattern);
      for (const input of inputs)
        expect([pattern, input, test(input)]).toEqual([pattern, input, re.test(input)]);
    }
  });
});

describe('a rule condition on ramdisk data', () => {
  it('fails the evaluation, never the worker, on data crafted against its pattern', () => {
    const cond = {
      op: 'contains',
      field: 'inventory.system_vendor.product_name',
      value: '(?i)(a+)+b',
      multiple: 'any',
      invert: false,
    } as const;
    const data = { inventory: { system_vendor: { product_name: evil } } };
    expect(() => conditionHolds(cond, data, {})).toThrow(
      /^Condition contains "\(\?i\)\(a\+\)\+b" on inventory\.system_vendor\.product_name ran for over/,
    );
  });
});
