import { describe, expect, it } from 'vitest';
import { conditionHolds } from './conditions.ts';
import { RuleConditionSchema, type RuleCondition } from './rule-schema.ts';

type Options = { multiple?: RuleCondition['multiple']; invert?: boolean };

function holds(
  op: RuleCondition['op'],
  field: string,
  value: unknown,
  data: unknown,
  { multiple = 'any', invert = false }: Options = {},
  node: unknown = {},
): boolean {
  const params = op === 'is-empty' ? {} : { value };
  const cond = RuleConditionSchema.parse({ op, field, multiple, invert, ...params });
  return conditionHolds(cond, data, node);
}

/** The operator applied to one field value `x`. */
const on = (op: RuleCondition['op'], x: unknown, value?: unknown, options?: Options) =>
  holds(op, 'x', value, { x }, options);

describe('eq and ne', () => {
  it('coerce the field to a number when the value is one', () => {
    expect(on('eq', '8', 8)).toBe(true);
    expect(on('eq', 8, 8)).toBe(true);
    expect(on('eq', ' 1.5 ', 1.5)).toBe(true);
    expect(on('ne', '9', 8)).toBe(true);
    expect(on('ne', '8', 8)).toBe(false);
  });

  it('are both false when the field is no number', () => {
    for (const x of ['eight', '', null, true, [8], { n: 8 }, '0x8', 'Infinity']) {
      expect(on('eq', x, 8)).toBe(false);
      expect(on('ne', x, 8)).toBe(false);
    }
  });

  it('compare other values as they are, deeply', () => {
    expect(on('eq', 'abc', 'abc')).toBe(true);
    expect(on('eq', 8, '8')).toBe(false);
    expect(on('eq', { a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(on('eq', [1, 2], [2, 1])).toBe(false);
    expect(on('ne', [1, 2], [2, 1])).toBe(true);
    expect(on('eq', null, null)).toBe(true);
    expect(on('eq', false, null)).toBe(false);
  });
});

describe('lt, le, gt and ge', () => {
  it('order numbers, coercing numeric strings', () => {
    expect(on('gt', 999, 998)).toBe(true);
    expect(on('gt', '999', 998)).toBe(true);
    expect(on('gt', 998, 998)).toBe(false);
    expect(on('ge', 998, 998)).toBe(true);
    expect(on('lt', -1, 0)).toBe(true);
    expect(on('le', 0, 0)).toBe(true);
    expect(on('le', 1, 0)).toBe(false);
  });

  it('order two strings as strings', () => {
    expect(on('lt', 'abc', 'abd')).toBe(true);
    expect(on('ge', 'b', 'abc')).toBe(true);
    expect(on('le', 'b', 'b')).toBe(true);
  });

  it('are false for what cannot be ordered', () => {
    for (const op of ['lt', 'le', 'gt', 'ge'] as const) {
      expect(on(op, 'many', 1)).toBe(false);
      expect(on(op, 5, '1')).toBe(false);
      expect(on(op, [1], [0])).toBe(false);
      expect(on(op, null, 0)).toBe(false);
    }
  });
});

describe('in-net', () => {
  it('tells IPv4 and IPv6 addresses inside a network', () => {
    expect(on('in-net', '10.0.0.5', '10.0.0.0/8')).toBe(true);
    expect(on('in-net', '192.168.0.5', '10.0.0.0/8')).toBe(false);
    expect(on('in-net', 'fd00::5', 'fd00::/64')).toBe(true);
    expect(on('in-net', 'FD00:0000::5', 'fd00::/64')).toBe(true);
    expect(on('in-net', 'fd01::5', 'fd00::/64')).toBe(false);
  });

  it('is false for what is no address', () => {
    expect(on('in-net', 'localhost', '0.0.0.0/0')).toBe(false);
    expect(on('in-net', 167772165, '10.0.0.0/8')).toBe(false);
    expect(on('in-net', null, '10.0.0.0/8')).toBe(false);
  });
});

describe('matches and contains', () => {
  it('matches wants the whole text to match', () => {
    expect(on('matches', '12288', '[0-9]+')).toBe(true);
    expect(on('matches', 12288, '[0-9]+')).toBe(true);
    expect(on('matches', '12288 MB', '[0-9]+')).toBe(false);
    expect(on('matches', 'ab', 'a|ab')).toBe(true);
    // Python's $ also matches before a newline that ends the text; \Z does not.
    expect(on('matches', 'abc\n', 'abc')).toBe(true);
    expect(on('matches', 'abc\nx', 'abc')).toBe(false);
    expect(on('matches', 'abc\n', 'abc\\Z')).toBe(false);
    expect(on('matches', 'abc', 'abc\\Z')).toBe(true);
    expect(on('matches', 'bar\nfoo', '(?m)foo')).toBe(false);
    expect(on('matches', 'foo\nbar', '(?m)foo')).toBe(true);
  });

  it('contains searches anywhere in the text', () => {
    expect(on('contains', 'lo 127.0.0.1 up', '127\\.0\\.0\\.1')).toBe(true);
    expect(on('contains', '10.0.0.1', '127\\.0\\.0\\.1')).toBe(false);
    expect(on('contains', true, 'ru')).toBe(true);
  });

  it("see any other value as Python's str() renders it, as upstream", () => {
    expect(on('matches', null, 'None')).toBe(true);
    expect(on('matches', true, 'True')).toBe(true);
    expect(on('contains', ['sda', 'sdb'], 'sdb')).toBe(true);
    expect(on('contains', { a: 'x' }, 'y')).toBe(false);
  });

  it('name the condition whose stored pattern no longer compiles', () => {
    // The schema checks patterns when a rule is made: this one is as a rule stored long ago.
    const cond = {
      op: 'contains',
      field: 'x',
      value: 'a[',
      multiple: 'any',
      invert: false,
    } as const;
    expect(() => conditionHolds(cond, { x: 'a' }, {})).toThrow(
      /^Condition contains "a\[" on x: the pattern does not compile \(Invalid regular expression/,
    );
  });

  it("take patterns in Python's syntax, with upstream's anchoring", () => {
    expect(on('contains', 'Dell Inc.', '(?i)^dell')).toBe(true);
    expect(on('matches', 'abc', 'a|b$')).toBe(true);
    expect(on('matches', 'xb', 'a|b$')).toBe(false);
    expect(on('matches', 'ab', '\\Aab\\Z')).toBe(true);
  });
});

describe('is-empty', () => {
  it('holds for empty text, null, empty lists and objects', () => {
    for (const x of ['', null, [], {}]) expect(on('is-empty', x)).toBe(true);
  });

  it('does not hold for other values, falsy ones included', () => {
    for (const x of [0, false, ' ', [null], { a: null }]) expect(on('is-empty', x)).toBe(false);
  });

  it('holds for a field that is not there', () => {
    expect(holds('is-empty', 'i.do.not.exist', undefined, {})).toBe(true);
    expect(holds('is-empty', 'i.do.not.exist', undefined, {}, { invert: true })).toBe(false);
  });
});

describe('fields', () => {
  const data = { interfaces: [{ ip: '10.0.0.1' }, { ip: '127.0.0.1' }], n: 1 };
  const node = { driver_info: { ipmi_address: '10.0.0.5' } };

  it('read the data by default and with data://', () => {
    expect(holds('eq', 'n', 1, data)).toBe(true);
    expect(holds('eq', 'data://n', 1, data)).toBe(true);
  });

  it('read the node with node://', () => {
    expect(holds('eq', 'node://driver_info.ipmi_address', '10.0.0.5', data, {}, node)).toBe(true);
    expect(holds('eq', 'node://n', 1, data, {}, node)).toBe(false);
  });

  it('found nowhere fail the condition, inverted or not', () => {
    expect(holds('ne', 'missing', 1, data)).toBe(false);
    expect(holds('eq', 'missing', 1, data, { invert: true })).toBe(false);
  });
});

describe('multiple and invert', () => {
  const data = { ips: ['10.0.0.1', '127.0.0.1', '10.0.0.2'] };
  const loopback = (options: Options) => holds('contains', 'ips[*]', '^127\\.', data, options);

  it('any wants one value to pass', () => {
    expect(loopback({ multiple: 'any' })).toBe(true);
    expect(holds('contains', 'ips[*]', '^192\\.', data)).toBe(false);
  });

  it('all wants every value to pass', () => {
    expect(loopback({ multiple: 'all' })).toBe(false);
    expect(holds('in-net', 'ips[*]', '0.0.0.0/0', data, { multiple: 'all' })).toBe(true);
  });

  it('tries each value from its start, under (?m) too, where the pattern is sticky', () => {
    const disks = { names: ['sda', 'sda', 'sdb'] };
    expect(holds('matches', 'names[*]', '(?m)sd.', disks, { multiple: 'all' })).toBe(true);
    expect(holds('matches', 'names[*]', '(?im)SDA', disks, { multiple: 'first' })).toBe(true);
  });

  it('first looks at the first value only', () => {
    expect(loopback({ multiple: 'first' })).toBe(false);
    expect(holds('eq', 'ips[*]', '10.0.0.1', data, { multiple: 'first' })).toBe(true);
  });

  it('inverts each value before combining them', () => {
    expect(loopback({ multiple: 'all', invert: true })).toBe(false);
    expect(loopback({ multiple: 'any', invert: true })).toBe(true);
    expect(loopback({ multiple: 'first', invert: true })).toBe(true);
    const clean = { ips: ['10.0.0.1', '10.0.0.2'] };
    expect(holds('contains', 'ips[*]', '^127\\.', clean, { multiple: 'all', invert: true })).toBe(
      true,
    );
  });
});
