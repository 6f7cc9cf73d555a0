import { describe, expect, it } from 'vitest';
import { BmcCallQueue } from './bmc-queue.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `n` calls at once on `key` and records when each started and ended. */
async function burst(queue: BmcCallQueue, key: string, n: number, interval: number, work = 20) {
  const spans: { i: number; start: number; end: number }[] = [];
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      queue.run(key, interval, async () => {
        const start = performance.now();
        await sleep(work);
        spans.push({ i, start, end: performance.now() });
        return i;
      }),
    ),
  );
  return spans;
}

describe('BmcCallQueue', () => {
  it('runs calls to one BMC one at a time, in order, with the minimum interval between them', async () => {
    const spans = await burst(new BmcCallQueue(), 'a:623', 4, 50);
    expect(spans.map((s) => s.i)).toEqual([0, 1, 2, 3]);
    for (let k = 1; k < spans.length; k++) {
      // Timers may fire up to ~1 ms early.
      expect(spans[k]!.start - spans[k - 1]!.end).toBeGreaterThanOrEqual(48);
    }
  });

  it('does not make different BMCs wait for each other', async () => {
    const queue = new BmcCallQueue();
    const [a, b] = await Promise.all([
      burst(queue, 'a:623', 1, 500, 100),
      burst(queue, 'b:623', 1, 500, 100),
    ]);
    // The two calls overlap: neither BMC's call waited for the other's to end.
    expect(b[0]!.start).toBeLessThan(a[0]!.end);
    expect(a[0]!.start).toBeLessThan(b[0]!.end);
  });

  it('keeps going after a failed call and passes its error on', async () => {
    const queue = new BmcCallQueue();
    const first = queue.run('a:623', 0, () => Promise.reject(new Error('boom')));
    const second = queue.run('a:623', 0, () => Promise.resolve('ok'));
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe('ok');
  });

  it('forgets idle BMCs once their interval is over', async () => {
    const queue = new BmcCallQueue();
    await queue.run('a:623', 30, async () => 1);
    await queue.run('b:623', 0, async () => 1);
    expect(queue.size).toBe(1);
    await sleep(60);
    expect(queue.size).toBe(0);
  });
});
