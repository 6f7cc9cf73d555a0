import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { testStore } from '../../../test/helpers/redis.ts';
import { enqueueForRun } from './enqueue-for-run.ts';

const { store, close } = testStore();
afterAll(close);

async function processingRun(): Promise<{ node: string; gen: number }> {
  const node = randomUUID();
  const { gen } = await store.start({
    uuid: node,
    bmc: ['10.9.9.9'],
    macs: [],
    manageBoot: true,
    reqId: 'r',
  });
  await store.transition(node, gen, 'wait');
  await store.transition(node, gen, 'process', { raw: '{}' });
  return { node, gen };
}

describe('enqueueForRun (real Redis)', () => {
  it('leaves the run alone when the job is queued', async () => {
    const run = await processingRun();
    let queued = 0;
    await enqueueForRun({ store }, run, 'processing', async () => {
      queued++;
    });
    expect(queued).toBe(1);
    expect(await store.get(run.node)).toMatchObject({ state: 'processing', error: null });
  });

  it('ends the run in error at once, naming the job and cause, and still fails the caller', async () => {
    const run = await processingRun();
    const down = new Error("Stream isn't writeable and enableOfflineQueue options is false");
    await expect(
      enqueueForRun({ store }, run, 'processing', () => Promise.reject(down)),
    ).rejects.toBe(down);
    const record = await store.get(run.node);
    expect(record).toMatchObject({
      state: 'error',
      error: `Failed to enqueue the processing job: ${down.message}`,
    });
    expect(record?.finished_at).toEqual(expect.any(Number));
  });

  it('leaves a run that moved on meanwhile as it is', async () => {
    const run = await processingRun();
    await store.transition(run.node, run.gen, 'finish');
    await expect(
      enqueueForRun({ store }, run, 'processing', () => Promise.reject(new Error('down'))),
    ).rejects.toThrow('down');
    expect(await store.get(run.node)).toMatchObject({ state: 'finished', error: null });
  });
});
