import { describe, expect, it } from 'vitest';
import { normalizeMac, parseBootInterface } from './mac.ts';

describe('normalizeMac', () => {
  it('lower-cases a valid MAC', () => {
    expect(normalizeMac('DE:AD:BE:EF:DE:AD')).toBe('de:ad:be:ef:de:ad');
  });
  it.each(['broken', '', '11:22:33:44:55', '11-22-33-44-55-66', 42, null])(
    'refuses %j',
    (value) => {
      expect(normalizeMac(value)).toBeNull();
    },
  );
});

describe('parseBootInterface', () => {
  it('reads PXELinux BOOTIF form, dropping the hardware type', () => {
    expect(parseBootInterface('01-66-55-44-33-22-11')).toBe('66:55:44:33:22:11');
  });
  it('lower-cases BOOTIF and plain MACs alike', () => {
    expect(parseBootInterface('01-AA-BB-CC-DD-EE-FF')).toBe('aa:bb:cc:dd:ee:ff');
    expect(parseBootInterface('AA:BB:CC:DD:EE:FF')).toBe('aa:bb:cc:dd:ee:ff');
  });
  it('gives null for nothing or garbage', () => {
    expect(parseBootInterface(undefined)).toBeNull();
    expect(parseBootInterface('')).toBeNull();
    expect(parseBootInterface('01-zz')).toBeNull();
  });
});
