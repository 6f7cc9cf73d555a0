import { describe, expect, it } from 'vitest';
import { formatString, formatValue, pythonStr } from './format.ts';
import { refusal } from './refusal.testing.ts';

const data = {
  inventory: {
    bmc_address: '10.0.0.5',
    disks: [{ name: '/dev/sda', size: 1000 }],
    cpu: { count: 8, flags: ['vmx', 'sse'] },
  },
  byIndex: { '1': 'one' },
  flag: true,
  off: false,
  nothing: null,
  'odd key': 'odd',
};

/** The 400 formatString throws for `template`. */
const invalid = (template: string) => refusal(() => formatString(template, data));

describe('formatString', () => {
  it('looks keys up in the data', () => {
    expect(formatString('{data[inventory][bmc_address]}', data)).toBe('10.0.0.5');
    expect(formatString('bmc at {data[inventory][bmc_address]}!', data)).toBe('bmc at 10.0.0.5!');
    expect(formatString('{data[odd key]}', data)).toBe('odd');
  });

  it('indexes lists with digit keys and uses them as keys on objects', () => {
    expect(formatString('{data[inventory][disks][0][name]}', data)).toBe('/dev/sda');
    expect(formatString('{data[byIndex][1]}', data)).toBe('one');
  });

  it('renders values as Python str() does, always as text', () => {
    expect(formatString('{data[inventory][cpu][count]}', data)).toBe('8');
    expect(formatString('{data[flag]}/{data[off]}', data)).toBe('True/False');
    expect(formatString('{data[nothing]}', data)).toBe('None');
    expect(formatString('{data[inventory][cpu][flags]}', data)).toBe('["vmx","sse"]');
    expect(formatString('{data[byIndex]}', data)).toBe('{"1":"one"}');
    expect(formatString('{data}', { a: 1 })).toBe('{"a":1}');
  });

  it('turns doubled braces into single ones', () => {
    expect(formatString('{{data}} }}{{', data)).toBe('{data} }{');
    expect(formatString('{{{data[flag]}}}', data)).toBe('{True}');
  });

  it('leaves text without braces alone', () => {
    expect(formatString('plain text', data)).toBe('plain text');
  });

  it.each([
    ['{foo}', "unknown field name 'foo'"],
    ['{}', "unknown field name ''"],
    ['{0}', "unknown field name '0'"],
    ['{data.inventory}', "unexpected '.' in field"],
    ['{data[missing]}', "missing key 'missing'"],
    ['{data[inventory][disks][1]}', 'list index 1 out of range'],
    ['{data[inventory][bmc_address][0]}', "missing key '0'"],
    ['{data[constructor]}', "missing key 'constructor'"],
    ['{data[]}', 'empty key'],
    ['{data[inventory}', "missing ']'"],
    ['{data[inventory][cpu]x}', "unexpected 'x' in field"],
    ['{data[inventory]:>10}', 'format specs are not supported'],
    ['{data[inventory]!r}', 'conversions are not supported'],
    ['{data', "expected '}' before end of string"],
    ['trailing {', "single '{' encountered"],
    ['stray } brace', "single '}' encountered"],
  ])('refuses %j', (template, reason) => {
    expect(invalid(template)).toBe(`Invalid formatting of ${template}: ${reason}`);
  });
});

describe('formatValue', () => {
  it('expands strings inside objects, their keys too, and lists', () => {
    const value = {
      '{data[flag]}': ['{data[inventory][bmc_address]}', { deep: '{data[nothing]}' }],
    };
    expect(formatValue(value, data)).toEqual({
      True: ['10.0.0.5', { deep: 'None' }],
    });
  });

  it('returns other values unchanged', () => {
    for (const value of [42, true, null, undefined]) expect(formatValue(value, data)).toBe(value);
  });

  it('does not change its argument', () => {
    const value = { a: ['{data[flag]}'] };
    formatValue(value, data);
    expect(value).toEqual({ a: ['{data[flag]}'] });
  });

  it('fails on any invalid string inside', () => {
    expect(() => formatValue({ a: ['{oops}'] }, data)).toThrow(
      'Invalid formatting of {oops}: unknown field name',
    );
  });
});

describe('pythonStr', () => {
  it('renders JSON values as Python would print them', () => {
    expect([pythonStr('s'), pythonStr(1.5), pythonStr(null), pythonStr(true)]).toEqual([
      's',
      '1.5',
      'None',
      'True',
    ]);
  });
});
