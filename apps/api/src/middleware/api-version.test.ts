import { describe, expect, it } from 'vitest';
import { InspectorError } from '@inspector/shared';
import { negotiateVersion } from './api-version.ts';

const statusOf = (raw: string) => {
  try {
    negotiateVersion(raw);
    return 200;
  } catch (err) {
    return (err as InspectorError).status;
  }
};

describe('negotiateVersion', () => {
  it('defaults to the newest for an absent header and for latest', () => {
    expect(negotiateVersion(undefined)).toEqual([1, 18]);
    expect(negotiateVersion('latest')).toEqual([1, 18]);
    expect(negotiateVersion('LATEST')).toEqual([1, 18]);
  });
  it('accepts a version in range', () => {
    expect(negotiateVersion('1.0')).toEqual([1, 0]);
    expect(negotiateVersion('1.12')).toEqual([1, 12]);
  });
  it('answers 406 outside the range, naming the range', () => {
    expect(statusOf('1.19')).toBe(406);
    expect(statusOf('2.0')).toBe(406);
    expect(statusOf('0.9')).toBe(406);
    expect(() => negotiateVersion('99.0')).toThrow(
      'Unsupported API version 99.0, supported range is 1.0 to 1.18',
    );
  });
  it('answers 400 for a malformed version', () => {
    for (const bad of ['abc', '1', '1.', '1.2.3', '-1.0', '1.x']) expect(statusOf(bad)).toBe(400);
  });
});
