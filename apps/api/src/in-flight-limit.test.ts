import { describe, expect, it } from 'vitest';
import { InFlightLimit } from './in-flight-limit.ts';

describe('InFlightLimit', () => {
  it('lets `limit` in at once, and one more each time one leaves, however often it leaves', () => {
    const limit = new InFlightLimit(2);
    const a = limit.tryEnter();
    const b = limit.tryEnter();
    expect(a && b).toBeTruthy();
    expect(limit.tryEnter()).toBeNull();
    a!();
    a!();
    expect(limit.tryEnter()).not.toBeNull();
    expect(limit.tryEnter()).toBeNull();
  });
});
