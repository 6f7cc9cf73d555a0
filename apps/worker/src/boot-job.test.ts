import { describe, expect, it } from 'vitest';
import { loadConfig } from '@inspector/shared';
import { bootJobWaitMs } from './boot-job.ts';

describe('bootJobWaitMs', () => {
  it("outlasts the boot job's two Ironic calls with every retry", () => {
    // Per call: 6 attempts of 10 s, back-offs of at most 1 + 2 + 4 + 8 + 16 s.
    expect(bootJobWaitMs(loadConfig({}))).toBe(2 * 91_000);
    expect(bootJobWaitMs(loadConfig({ IRONIC_TIMEOUT_MS: '20000' }))).toBe(2 * 151_000);
  });

  it('never waits less than a minute', () => {
    const quick = loadConfig({ IRONIC_TIMEOUT_MS: '100', IRONIC_RETRY_ATTEMPTS: '1' });
    expect(bootJobWaitMs(quick)).toBe(60_000);
  });
});
