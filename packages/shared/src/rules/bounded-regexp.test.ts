import { describe, expect, it } from 'vitest';
import { RULES_REGEXP_BUDGET_MS, RegExpBudget, boundedTest } from './bounded-regexp.ts';
import { conditionHolds } from './conditions.ts';
import { rulesThatApply } from './plan.ts';
import { pythonRegExp } from './python-regexp.ts';
import type { Rule } from './rule-schema.ts';

const evil = 'a'.repeat(40);
const spent = `when the rules' patterns had used their ${RULES_REGEXP_BUDGET_MS} ms`;

describe('boundedTest', () => {
  it('runs a catastrophic pattern the linear engine takes to its end, with the same answers', () => {
    const test = boundedTest(/^(?:(a+)+b)$/, 'the pattern', new RegExpBudget());
    expect(test(evil)).toBe(false);
    expect(test(`${evil}b`)).toBe(true);
    expect(test('a'.repeat(100_000))).toBe(false);
  });

  it('stops a backtracking pattern the linear engine refuses, naming it', () => {
    // `i` and the backreference each keep this pattern from the linear engine.
    const test = boundedTest(/^(?:(a+)+\1b)$/i, 'Condition matches "x"', new RegExpBudget());
    // Unbounded, that input would run for hours (past the test's own time limit).
    expect(() => test(evil)).toThrow(
      `Condition matches "x" was still running on a value of 40 characters ${spent}`,
    );
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
      const test = boundedTest(re, pattern, new RegExpBudget());
      for (const input of inputs)
        expect([pattern, input, test(input)]).toEqual([pattern, input, re.test(input)]);
    }
  });
});

describe('rule conditions on ramdisk data', () => {
  const cond = {
    op: 'contains',
    field: 'inventory.system_vendor.product_name',
    // The lookahead keeps the pattern from the linear engine.
    value: '(a+)+(?=b)',
    multiple: 'any',
    invert: false,
  } as const;

  it('fail the evaluation, never the worker, on data crafted against a pattern', () => {
    const data = { inventory: { system_vendor: { product_name: evil } } };
    expect(() => conditionHolds(cond, data, {})).toThrow(
      /^Condition contains "\(a\+\)\+\(\?=b\)" on inventory\.system_vendor\.product_name was still running/,
    );
  });

  it('run a (?i) pattern on the linear engine: spelt out, it needs no i flag', () => {
    const data = { inventory: { system_vendor: { product_name: `${evil}B` } } };
    expect(conditionHolds({ ...cond, value: '(?i)(A+)+b' }, data, {})).toBe(true);
    data.inventory.system_vendor.product_name = 'a'.repeat(100_000);
    expect(conditionHolds({ ...cond, value: '(?i)(A+)+b' }, data, {})).toBe(false);
  });

  it('share one budget over every value and rule: many values each under a limit add up', () => {
    // Each value takes a few milliseconds; thousands of them, across two rules, far more than the budget.
    const values = Array.from({ length: 2000 }, () => 'a'.repeat(18));
    const rule = (field: string): Rule => ({
      uuid: field,
      description: null,
      scope: null,
      conditions: [{ ...cond, field }],
      actions: [],
    });
    const data = { one: values, two: values };
    expect(() => rulesThatApply([rule('one[*]'), rule('two[*]')], data, {})).toThrow(spent);
  });
});
