import { describe, expect, it } from 'vitest';
import { pickNode } from './lookup.ts';

const attrs = { bmc_address: ['1.2.3.4'], mac: ['11:22:33:44:55:66', '66:55:44:33:22:11'] };

describe('pickNode', () => {
  it('finds the node matching any attribute', () => {
    expect(pickNode(attrs, [['a'], [], []])).toEqual({ kind: 'found', uuid: 'a' });
    expect(pickNode(attrs, [[], [], ['a']])).toEqual({ kind: 'found', uuid: 'a' });
  });
  it('reports no match with the attributes it looked for', () => {
    const r = pickNode(attrs, [[], [], []]);
    expect(r.kind).toBe('not_found');
    expect(r.kind !== 'found' && r.message).toContain('1.2.3.4');
  });
  it('tells nodes sharing a BMC address apart by their MACs', () => {
    expect(pickNode(attrs, [['a', 'b'], ['b'], []])).toEqual({ kind: 'found', uuid: 'b' });
  });
  it('refuses a tie: BMC of one node, MAC of another', () => {
    const r = pickNode(attrs, [['a'], ['b'], []]);
    expect(r.kind).toBe('multiple');
    expect(r.kind !== 'found' && r.message).toContain('a, b');
  });
  it('counts a node once per attribute even if listed twice', () => {
    expect(pickNode(attrs, [['a', 'a'], ['b'], ['b']])).toEqual({ kind: 'found', uuid: 'b' });
  });
});
