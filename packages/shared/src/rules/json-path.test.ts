import { describe, expect, it } from 'vitest';
import { findValues, parseJsonPath } from './json-path.ts';

const find = (path: string, doc: unknown) => findValues(parseJsonPath(path), doc);

describe('findValues', () => {
  const data = {
    memory_mb: 12288,
    inventory: {
      cpu: { count: 8 },
      interfaces: [
        { name: 'eth0', ipv4_address: '1.2.3.4' },
        { name: 'eth1', ipv4_address: '127.0.0.1' },
      ],
    },
    'a.b': { 'x y': 1 },
    'dash-key': 'd',
  };

  it('follows dotted names, with or without a leading $', () => {
    expect(find('inventory.cpu.count', data)).toEqual([8]);
    expect(find('$.inventory.cpu.count', data)).toEqual([8]);
    expect(find('dash-key', data)).toEqual(['d']);
  });

  it('collects a field of every list item through [*]', () => {
    expect(find('inventory.interfaces[*].ipv4_address', data)).toEqual(['1.2.3.4', '127.0.0.1']);
  });

  it('reads list items by index', () => {
    expect(find('inventory.interfaces[1].name', data)).toEqual(['eth1']);
    expect(find('inventory.interfaces[2].name', data)).toEqual([]);
  });

  it('takes every value of an object through .* and [*]', () => {
    expect(find('inventory.cpu.*', data)).toEqual([8]);
    expect(find('$["a.b"][*]', data)).toEqual([1]);
  });

  it('reads keys that names cannot spell through [\'...\'] and ["..."]', () => {
    expect(find("$['a.b']['x y']", data)).toEqual([1]);
    expect(find('["a.b"]["x y"]', data)).toEqual([1]);
  });

  it('gives the whole document for $', () => {
    expect(find('$', data)).toEqual([data]);
  });

  it('finds nothing, without throwing, where keys are missing or types differ', () => {
    expect(find('i.do.not.exist', data)).toEqual([]);
    expect(find('memory_mb.value', data)).toEqual([]);
    expect(find('memory_mb[0]', data)).toEqual([]);
    expect(find('inventory.cpu[0]', data)).toEqual([]);
    expect(find('inventory.interfaces.name', data)).toEqual([]);
    expect(find('a.b', null)).toEqual([]);
    expect(find('[*]', 'text')).toEqual([]);
  });

  it('keeps null values it reaches', () => {
    expect(find('a', { a: null })).toEqual([null]);
  });

  it('never reads inherited properties', () => {
    expect(find('constructor', {})).toEqual([]);
    expect(find('__proto__', {})).toEqual([]);
    expect(find('length', [1, 2])).toEqual([]);
  });
});

describe('parseJsonPath', () => {
  it('parses every accepted segment form', () => {
    expect(parseJsonPath("$.a[0][*].*['b c']")).toEqual([
      { kind: 'key', name: 'a' },
      { kind: 'index', index: 0 },
      { kind: 'wildcard' },
      { kind: 'wildcard' },
      { kind: 'key', name: 'b c' },
    ]);
  });

  it.each([
    ['', /empty path/],
    ['a..b', /empty segment at position 1/],
    ['a.', /ends with a dot/],
    ['a[0', /unclosed bracket/],
    ["a['b", /unclosed bracket/],
    ['a[?(@.b == 1)]', /filter expressions are not supported/],
    ['a[-1]', /unexpected "\[-1\]"/],
    ['a[1:2]', /unexpected/],
    ['a[b]', /unexpected/],
    ['a b', /unexpected " b" at position 1/],
    ['$a', /unexpected "a" at position 1/],
    ['.a', /unexpected/],
    ['a.$', /unexpected/],
  ])('refuses %j', (path, message) => {
    expect(() => parseJsonPath(path)).toThrow(message);
  });
});
