import { describe, expect, it } from 'vitest';
import { runSoak } from '../soak/soak.ts';

/** CI's soak is short; `npm run bench -- --soak` runs the full 5,000 nodes. */
const NODES = Number(process.env.SOAK_NODES ?? 300);

describe('soak', () => {
  it(`${NODES} nodes, 3 workers, Ironic failing 5% of its answers`, async () => {
    const result = await runSoak({ nodes: NODES, workers: 3, errorRate: 0.05, keepS: 20 });
    console.log(JSON.stringify(result));
    expect(result.stuck).toEqual([]);
    expect(result.unexplained).toEqual([]);
    expect(result.finished + result.failed + result.startsRefused).toBe(NODES);
    // Bounded retries absorb nearly every transient fault.
    expect(result.finished).toBeGreaterThan(NODES * 0.95);
    expect(result.redis.afterKeys).toBeLessThanOrEqual(result.redis.baselineKeys);
    expect(result.redis.afterBytes).toBeLessThan(result.redis.baselineBytes + 4 * 1024 * 1024);
  }, 600_000);
});
