import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobId } from '@inspector/shared';
import { scheduleCleanup } from '../../apps/worker/src/workers.ts';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { waitUntil } from '../helpers/processes.ts';
import { newRedis } from '../helpers/redis.ts';
import { api, startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;
const redis = newRedis();
beforeAll(async () => {
  stack = await startStack(
    {
      INTROSPECTION_TIMEOUT_S: '2',
      NODE_STATUS_KEEP_TIME_S: '3',
      CLEAN_UP_PERIOD_S: '1',
      COMPLETED_JOB_KEEP_S: '1',
    },
    { nodes: 5 },
  );
  await scheduleCleanup(stack.worker);
});
afterAll(async () => {
  await stack?.close();
  await redis.quit();
});

const status = (uuid: string) => api(stack, 'GET', `/v1/introspection/${uuid}`);

describe('timeout and status retention', () => {
  it('a node that never calls back ends with "Introspection timeout", then its status expires', async () => {
    const spec = nodeSpec(0);
    stack.onBoot = () => null;
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const final = await waitUntil(
      'timed out',
      async () => {
        const s = (await status(spec.uuid)).body;
        return s.finished ? s : null;
      },
      15_000,
    );
    expect(final).toMatchObject({ state: 'error', error: 'Introspection timeout' });
    // Its MACs are free again.
    expect(await stack.store.candidates({ bmc_address: [], mac: [...spec.macs] })).toEqual([
      [],
      [],
    ]);

    await waitUntil('status expired', async () => (await status(spec.uuid)).status === 404, 15_000);
    // The periodic clean-up also drops it from the index that lists runs.
    await waitUntil(
      'index cleaned',
      async () => (await redis.zscore(stack.store.keys.index, spec.uuid)) === null,
      15_000,
    );
    const list = await api(stack, 'GET', '/v1/introspection');
    expect(list.body.introspection.map((s: { uuid: string }) => s.uuid)).not.toContain(spec.uuid);
  });

  it('a run that finishes drops its timeout job at once', async () => {
    const spec = nodeSpec(1);
    stack.onBoot = () => ({});
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const record = await waitUntil('finished', async () => {
      const r = await stack.store.get(spec.uuid);
      return r?.state === 'finished' ? r : null;
    });
    const timeouts = stack.worker.queues.byName.timeouts;
    const id = jobId('timeout', { node: spec.uuid, gen: record.gen, reqId: '' });
    // The run is finished a Redis round trip before its timeout job is dropped.
    await waitUntil('the timeout job dropped', async () =>
      (await timeouts.getJob(id)) === undefined ? true : null,
    );
    expect(await timeouts.getDelayedCount()).toBe(0);
  });

  it('without RAMDISK_LOGS_DIR, ramdisk logs are never kept in Redis', async () => {
    const spec = nodeSpec(2);
    stack.onBoot = () => ({ logs: 'x'.repeat(100_000) });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await waitUntil('waiting for processing', async () =>
      (await stack.store.getRaw(spec.uuid)) ? true : null,
    );
    expect(await redis.exists(stack.store.keys.logs(spec.uuid))).toBe(0);
    await waitUntil('finished', async () =>
      (await stack.store.get(spec.uuid))?.state === 'finished' ? true : null,
    );
    expect(await redis.exists(stack.store.keys.logs(spec.uuid))).toBe(0);
  });
});
