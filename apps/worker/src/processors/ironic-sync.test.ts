import { describe, expect, it } from 'vitest';
import { deletedFromIronic } from './ironic-sync.ts';

const uuid = '1c0ffee0-fa4e-4000-8000-000000000001';

describe('deletedFromIronic', () => {
  it('holds for a run of a node Ironic did not list, started before the listing', () => {
    expect(deletedFromIronic({ uuid, started_at: 999 }, new Set(), 1000)).toBe(true);
  });

  it('does not hold for a node Ironic listed', () => {
    expect(deletedFromIronic({ uuid, started_at: 999 }, new Set([uuid]), 1000)).toBe(false);
  });

  it('does not hold for a run started once the listing had begun: its node may be new', () => {
    expect(deletedFromIronic({ uuid, started_at: 1000 }, new Set(), 1000)).toBe(false);
    expect(deletedFromIronic({ uuid, started_at: 1001 }, new Set(), 1000)).toBe(false);
  });
});
