import { describe, expect, it } from 'vitest';
import type { Figure } from '../scenarios/types.ts';
import { table } from './report.ts';

const rows = (text: string) => text.split('\n').slice(2);
const measured = (name: string, figures: Figure[]) => ({
  name,
  result: { status: 'ok' as const, notes: [], details: {}, figures },
});

describe('table', () => {
  it('reads each target from its figure: met, MISSED, or n/a when the run was invalid', () => {
    const text = table([
      measured('reads', [
        { label: 'rate', value: 10_000, unit: 'req/s', target: { op: '>=', value: 10_000 } },
        { label: 'p99', value: 20, unit: 'ms', target: { op: '<', value: 20 } },
        { label: 'p50', value: 5, unit: 'ms' },
        {
          label: 'broken',
          value: 1,
          unit: 'ms',
          valid: false,
          target: { op: '<', value: 20 },
        },
      ]),
      {
        name: 'real',
        result: { status: 'skipped', reason: 'no Ironic', figures: [], notes: [], details: {} },
      },
    ]);
    const [rate, p99, p50, broken, skipped] = rows(text);
    expect(rate).toMatch(/10,000 req\/s\s+>= 10,000 req\/s\s+met$/);
    // The target is strict: exactly 20 ms is not under 20 ms.
    expect(p99).toMatch(/20 ms\s+< 20 ms\s+MISSED$/);
    expect(p50).toMatch(/p50\s+5 ms$/);
    expect(broken).toMatch(/1 ms \(invalid\)\s+< 20 ms\s+n\/a$/);
    expect(skipped).toMatch(/^real\s+skipped: no Ironic$/);
  });

  it('lines the columns up under the header', () => {
    const text = table([
      measured('e2e', [{ label: 'a much longer label than the header', value: 1, unit: 'x' }]),
    ]);
    const [header, rule, row] = text.split('\n');
    expect(header!.indexOf('value')).toBe(row!.indexOf('1 x'));
    expect(rule!.split('  ').map((dashes) => dashes.length)).toEqual([8, 35, 5, 6, 7]);
  });
});
