import { describe, expect, it } from 'vitest';
import { pythonRegExp } from './python-regexp.ts';

describe('pythonRegExp', () => {
  it('takes leading inline flags as RegExp flags', () => {
    expect(pythonRegExp('(?i)dell').test('DELL Inc.')).toBe(true);
    expect(pythonRegExp('(?ms)a.b').flags).toBe('ms');
    // Any number of groups at the start, as Python; its default `u` changes nothing.
    expect(pythonRegExp('(?s)(?m)a.b').flags).toBe('ms');
    expect(pythonRegExp('(?i)(?u)k').source).toBe('[Kk\u212a]');
    expect(() => pythonRegExp('(?x)a b')).toThrow('inline flag x is not supported');
  });

  it('refuses the escapes Python refuses, and those it has that cannot be translated', () => {
    expect(() => pythonRegExp('\\q')).toThrow('bad escape \\q');
    expect(() => pythonRegExp('[\\B]')).toThrow('bad escape \\B in a class');
    expect(() => pythonRegExp('\\p{L}')).toThrow('bad escape \\p');
    expect(() => pythonRegExp('\\k<a>')).toThrow('bad escape \\k');
    expect(() => pythonRegExp('\\x4')).toThrow('incomplete escape \\x');
    expect(() => pythonRegExp('\\N{EM DASH}')).toThrow('\\N escapes are not supported');
    expect(() => pythonRegExp('[\\U0001F600]')).toThrow('\\U escapes are not supported');
    expect(pythonRegExp('\\d\\w\\s\\f\\v\\t\\n\\r\\.').test('1a \f\v\t\n\r.')).toBe(true);
    expect(pythonRegExp('\\bab\\B').test('x abc')).toBe(true);
  });

  it('translates named groups and their back-references', () => {
    const re = pythonRegExp('(?P<word>ab)-(?P=word)');
    expect(re.test('ab-ab')).toBe(true);
    expect(re.test('ab-cd')).toBe(false);
    expect(re.exec('ab-ab')?.groups?.word).toBe('ab');
  });

  it('anchors \\A and \\Z to the whole string, and keeps other escapes', () => {
    expect(pythonRegExp('\\Aab\\Z').test('ab')).toBe(true);
    expect(pythonRegExp('\\Aab\\Z').test('xab')).toBe(false);
    expect(pythonRegExp('(?m)\\Aab').test('x\nab')).toBe(false);
    expect(pythonRegExp('127\\.0\\.0\\.1').test('127x0x0x1')).toBe(false);
    expect(pythonRegExp('\\\\A').test('\\A')).toBe(true);
  });

  it('reads character classes as Python does: no anchors in them, a leading ] literal', () => {
    expect(() => pythonRegExp('[\\A]')).toThrow('bad escape \\A in a class');
    expect(() => pythonRegExp('x[^\\Z]')).toThrow('bad escape \\Z in a class');
    expect(pythonRegExp('[]a]+').exec('x]a]')?.[0]).toBe(']a]');
    expect(pythonRegExp('[^]a]').test(']')).toBe(false);
    expect(pythonRegExp('[(?P<]x').test('<x')).toBe(true);
    expect(pythonRegExp('[\\]]\\A').source).toBe('[\\]]^');
  });

  it('anchors at the start of the string alone when asked, as re.match, flags kept', () => {
    const re = pythonRegExp('(?i)ab', { anchored: true });
    expect(re.source).toBe('^(?:[Aa][Bb])');
    expect(re.test('ABC')).toBe(true);
    expect(re.test('cab')).toBe(false);
    // `^` would be any line's start under `m`: the pattern is sticky instead, at lastIndex 0.
    const lines = pythonRegExp('(?m)ab', { anchored: true });
    expect(lines.flags).toBe('my');
    expect(lines.test('x\nab')).toBe(false);
    lines.lastIndex = 0;
    expect(lines.test('ab\nx')).toBe(true);
  });

  it("spells (?i) out as classes of the characters Python's IGNORECASE takes", () => {
    expect(pythonRegExp('(?i)k8s').source).toBe('[Kk\u212a]8[Ss\u017f]');
    expect(pythonRegExp('(?i)k8s').flags).toBe('');
    expect(pythonRegExp('(?i)\\x4b').test('\u212a')).toBe(true);
    expect(pythonRegExp('(?i)\\xab').source).toBe('\\xab');
    // A class gains the variants of its members, ranges and escapes included.
    expect(pythonRegExp('(?i)[a-c\\d]').source).toBe('[a-c\\dA-C]');
    expect(pythonRegExp('(?i)[^a-z]').test('K')).toBe(false);
    expect(pythonRegExp('(?i)[\\x41-\\x43]').test('b')).toBe(true);
    expect(pythonRegExp('(?i)[-s]').test('S')).toBe(true);
    expect(pythonRegExp('(?i)[]i]').test('\u0130')).toBe(true);
    // A group's name is a name, not letters to fold.
    expect(pythonRegExp('(?i)(?P<vendor>dell)').exec('DELL')?.groups?.vendor).toBe('DELL');
  });

  it('keeps a literal - last in a (?i) class a literal, the variants added after it', () => {
    expect(pythonRegExp('(?i)[a-z0-9_-]+').exec('Host-01:x')?.[0]).toBe('Host-01');
    expect(pythonRegExp('(?i)[x-]').test('-')).toBe(true);
    expect(pythonRegExp('(?i)[a-z.-]+').exec('a:b')?.[0]).toBe('a');
    expect(pythonRegExp('(?i)[\\\\-]').test('-')).toBe(true);
  });

  it("reads Python's octal escapes and \\a as the characters they are, folded under (?i)", () => {
    expect(pythonRegExp('(?i)[\\101]').test('a')).toBe(true);
    expect(pythonRegExp('(?i)\\153').test('\u212a')).toBe(true);
    expect(pythonRegExp('(?i)\\153').flags).toBe('');
    expect(pythonRegExp('\\0').test('\0')).toBe(true);
    expect(pythonRegExp('(a)\\1').test('aa')).toBe(true);
    expect(pythonRegExp('\\a[\\a]').test('\x07\x07')).toBe(true);
    expect(() => pythonRegExp('\\400')).toThrow('octal escape value \\400 outside of range');
    // An escaped letter beyond ASCII is that letter.
    expect(pythonRegExp('(?i)\\\u00e9').test('\u00c9')).toBe(true);
  });

  it("reads {,n} as Python's at most n, where JavaScript reads text", () => {
    expect(pythonRegExp('^x{,2}$').test('xx')).toBe(true);
    expect(pythonRegExp('^x{,2}$').test('xxx')).toBe(false);
    expect(pythonRegExp('^x{,}$').test('xxxx')).toBe(true);
    expect(pythonRegExp('^x{}$').test('x{}')).toBe(true);
    expect(pythonRegExp('^[{,2}]$').test(',')).toBe(true);
  });

  it('keeps the i flag for back-references, whose text must match whatever its case', () => {
    const re = pythonRegExp('(?i)(?P<a>x)-(?P=a)');
    expect(re.flags).toBe('i');
    expect(re.test('x-X')).toBe(true);
    expect(pythonRegExp('(?i)(a)\\1').test('aA')).toBe(true);
  });

  it("reads $ as Python's: the end, or before a newline that ends the string", () => {
    expect(pythonRegExp('c$').test('abc\n')).toBe(true);
    expect(pythonRegExp('c$').test('abc\n\n')).toBe(false);
    expect(pythonRegExp('c$').test('abc\nx')).toBe(false);
    // \Z is the very end; under `m`, $ is any line's end, as in JavaScript.
    expect(pythonRegExp('c\\Z').test('abc\n')).toBe(false);
    expect(pythonRegExp('(?m)c$').test('abc\nx')).toBe(true);
    expect(pythonRegExp('[$]').test('$')).toBe(true);
    expect(pythonRegExp('\\$').test('a$')).toBe(true);
  });

  it("reads . as Python's: anything but \\n, a carriage return included", () => {
    expect(pythonRegExp('^a.b$').test('a\rb')).toBe(true);
    expect(pythonRegExp('^a.b$').test('a\nb')).toBe(false);
    expect(pythonRegExp('(?s)^a.b$').test('a\nb')).toBe(true);
    expect(pythonRegExp('^a[.]b$').test('axb')).toBe(false);
  });

  it('throws on a pattern that does not compile', () => {
    expect(() => pythonRegExp('(unclosed')).toThrow();
    expect(() => pythonRegExp('(?P=name')).toThrow('unterminated');
  });
});
