import { describe, expect, it } from 'vitest';
import { caseVariants, classCaseExtras } from './case-fold.ts';

const chars = (codes: readonly number[] | null) => String.fromCharCode(...(codes ?? []));

describe('caseVariants', () => {
  it("joins a letter with its cases, transitively, as Python's IGNORECASE", () => {
    expect(chars(caseVariants(0x61))).toBe('Aa');
    // k, K and the Kelvin sign; s, S and the long s: one group each, whichever is asked.
    expect(chars(caseVariants(0x212a))).toBe('Kk\u212a');
    expect(chars(caseVariants(0x53))).toBe('Ss\u017f');
    expect(chars(caseVariants(0x3c2))).toBe('\u03a3\u03c2\u03c3');
  });

  it("adds the pairs Python joins that JavaScript's mappings do not", () => {
    expect(chars(caseVariants(0x69))).toBe('Ii\u0130\u0131');
    expect(chars(caseVariants(0xfb05))).toBe('\ufb05\ufb06');
  });

  it('is null for a character without case', () => {
    expect(caseVariants(0x30)).toBeNull();
    expect(caseVariants(0x2d)).toBeNull();
    expect(caseVariants(0xd800)).toBeNull();
  });
});

describe('classCaseExtras', () => {
  it('adds the variants of members that are not members already', () => {
    expect(chars(classCaseExtras([[0x61, 0x63]]))).toBe('ABC');
    expect(
      chars(
        classCaseExtras([
          [0x41, 0x5a],
          [0x61, 0x7a],
        ]),
      ),
    ).toBe('\u0130\u0131\u017f\u212a');
    expect(classCaseExtras([[0x30, 0x39]])).toEqual([]);
  });

  it('finds the cased characters of a wide range without walking it', () => {
    expect(chars(classCaseExtras([[0x0, 0x60]]))).toBe(
      'abcdefghijklmnopqrstuvwxyz\u0130\u0131\u017f\u212a',
    );
  });
});
