import { describe, expect, it } from 'vitest';
import {
  UNKNOWN_HOSTS_FILE,
  hostsEntry,
  parseHostsEntry,
  planHostsDir,
  type FilterInputs,
  type Policy,
} from './dnsmasq-plan.ts';

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const C = '52:54:00:00:00:0c';

const plan = (inputs: Partial<FilterInputs>) =>
  Object.fromEntries(
    planHostsDir({
      introspected: new Set(),
      ironic: new Set(),
      unknownAllowed: false,
      current: new Map(),
      ...inputs,
    }),
  );

describe('hosts entries', () => {
  it('writes what dnsmasq reads as allow and ignore, the wildcard for unknown hosts', () => {
    expect(hostsEntry(A, 'allow')).toBe(`${A}\n`);
    expect(hostsEntry(A, 'deny')).toBe(`${A},ignore\n`);
    expect(hostsEntry(UNKNOWN_HOSTS_FILE, 'deny')).toBe('*:*:*:*:*:*,ignore\n');
    expect(hostsEntry(UNKNOWN_HOSTS_FILE, 'allow')).toBe('*:*:*:*:*:*\n');
  });

  it('reads back only what it writes, for the file it names', () => {
    expect(parseHostsEntry(A, `${A},ignore\n`)).toBe('deny');
    expect(parseHostsEntry(A, `${A}\n`)).toBe('allow');
    expect(parseHostsEntry(A, `${B}\n`)).toBeNull();
    expect(parseHostsEntry(A, `${A},set:known\n`)).toBeNull();
    expect(parseHostsEntry(UNKNOWN_HOSTS_FILE, '*:*:*:*:*:*\n')).toBe('allow');
  });
});

describe('planHostsDir', () => {
  it('lets introspected MACs through and denies the rest of Ironic, unknown hosts too when idle', () => {
    expect(plan({ introspected: new Set([A]), ironic: new Set([A, B]) })).toEqual({
      [UNKNOWN_HOSTS_FILE]: 'deny',
      [A]: 'allow',
      [B]: 'deny',
    });
  });

  it('lets unknown hosts through while allowed (a run on, or discovery)', () => {
    expect(plan({ ironic: new Set([B]), unknownAllowed: true })).toEqual({
      [UNKNOWN_HOSTS_FILE]: 'allow',
      [B]: 'deny',
    });
  });

  it('writes only what changes', () => {
    const current = new Map<string, Policy | null>([
      [UNKNOWN_HOSTS_FILE, 'deny'],
      [A, 'deny'],
      [B, 'deny'],
    ]);
    expect(plan({ introspected: new Set([A]), ironic: new Set([A, B]), current })).toEqual({
      [A]: 'allow',
    });
    current.set(A, 'allow');
    expect(plan({ introspected: new Set([A]), ironic: new Set([A, B]), current })).toEqual({});
  });

  it('treats a MAC Ironic dropped as an unknown host: its file is rewritten, never left stale', () => {
    const current = new Map<string, Policy | null>([
      [UNKNOWN_HOSTS_FILE, 'deny'],
      [C, 'deny'],
    ]);
    expect(plan({ ironic: new Set(), unknownAllowed: true, current })).toEqual({
      [UNKNOWN_HOSTS_FILE]: 'allow',
      [C]: 'allow',
    });
    expect(plan({ ironic: new Set(), unknownAllowed: false, current })).toEqual({});
  });

  it('rewrites a file whose text it did not write', () => {
    const current = new Map<string, Policy | null>([
      [UNKNOWN_HOSTS_FILE, 'deny'],
      [B, null],
    ]);
    expect(plan({ ironic: new Set([B]), current })).toEqual({ [B]: 'deny' });
  });

  it('without Ironic, fails closed: only introspected MACs are let through', () => {
    const current = new Map<string, Policy | null>([
      [UNKNOWN_HOSTS_FILE, 'allow'],
      [B, 'deny'],
      [C, 'allow'],
    ]);
    // C's run ended: it may be a deployed node. Unknown hosts may be any node Ironic has.
    expect(
      plan({ introspected: new Set([A]), ironic: null, unknownAllowed: true, current }),
    ).toEqual({ [UNKNOWN_HOSTS_FILE]: 'deny', [A]: 'allow', [C]: 'deny' });
  });

  it('denies again a MAC whose run ended', () => {
    const current = new Map<string, Policy | null>([
      [UNKNOWN_HOSTS_FILE, 'allow'],
      [A, 'allow'],
    ]);
    expect(plan({ ironic: new Set([A]), current })).toEqual({
      [UNKNOWN_HOSTS_FILE]: 'deny',
      [A]: 'deny',
    });
  });
});
