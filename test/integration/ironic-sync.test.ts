import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobId } from '@inspector/shared';
import { cleanup } from '../../apps/worker/src/processors/cleanup.ts';
import { nodeSpec, type FaultRule, type NodeSpec } from '../fixtures/fake-ironic.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';
import { sample } from '../helpers/metrics.ts';
import { waitUntil } from '../helpers/processes.ts';

/**
 * Upstream's Ironic sync, run by the periodic clean-up: runs of nodes deleted
 * from Ironic go. The fake Ironic answers pages of 2 nodes, so the listing
 * must follow Ironic's `next` links to see every node.
 */
let stack: Stack;
const silent = new Set<string>();

beforeAll(async () => {
  stack = await startStack({}, { nodes: 8, maxLimit: 2 });
  stack.onBoot = (node) => (silent.has(node.uuid) ? null : {});
});
afterAll(async () => {
  await stack?.close();
});

const status = (uuid: string) => api(stack, 'GET', `/v1/introspection/${uuid}`);
const listed = async () =>
  (await api(stack, 'GET', '/v1/introspection')).body.introspection.map(
    (s: { uuid: string }) => s.uuid,
  );

const counted = async (name: string, labels?: Record<string, string>) =>
  (await sample(stack.worker.metrics, name, labels)) ?? 0;

async function introspect(spec: { uuid: string }) {
  expect((await status(spec.uuid)).status).toBe(404);
  expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
  return finishedStatus(stack, spec.uuid);
}

/** One clean-up with `fault` in Ironic: a sync pass counted with `result`, Ironic asked once. */
async function passAskingOnce(fault: FaultRule, result: 'ok' | 'failed') {
  const handle = stack.ironic.faults.add(fault);
  const syncs = await counted('inspector_ironic_sync_total', { result });
  try {
    await cleanup(stack.worker);
  } finally {
    handle.remove();
  }
  expect(handle.hits).toBe(1);
  expect(await counted('inspector_ironic_sync_total', { result })).toBe(syncs + 1);
}

async function leaveWaiting(spec: NodeSpec) {
  silent.add(spec.uuid);
  expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
  await waitUntil(
    `${spec.name} waiting`,
    async () => (await status(spec.uuid)).body.state === 'waiting',
  );
}

describe('runs of nodes deleted from Ironic', () => {
  it('go with their status, data and lookup entries; an unfinished one ends in error first', async () => {
    const [gone, waiting, kept, last] = [nodeSpec(0), nodeSpec(1), nodeSpec(2), nodeSpec(7)];
    for (const spec of [gone, kept, last])
      expect(await introspect(spec)).toMatchObject({ state: 'finished' });
    await leaveWaiting(waiting);
    const run = (await stack.store.get(waiting.uuid))!;
    const timeouts = stack.worker.queues.byName.timeouts;
    const timeoutJob = jobId('timeout', { node: waiting.uuid, gen: run.gen, reqId: run.req_id });
    expect(await timeouts.getJob(timeoutJob)).toBeDefined();
    const failed = () => counted('inspector_introspections_failed_total', { reason: 'error' });
    const failedBefore = await failed();
    const droppedBefore = await counted('inspector_ironic_sync_dropped_total');
    const syncsBefore = await counted('inspector_ironic_sync_total', { result: 'ok' });
    stack.ironic.removeNode(gone.uuid);
    stack.ironic.removeNode(waiting.uuid);

    await cleanup(stack.worker);

    for (const spec of [gone, waiting]) {
      expect((await status(spec.uuid)).status).toBe(404);
      expect((await api(stack, 'GET', `/v1/introspection/${spec.uuid}/data`)).status).toBe(404);
    }
    // The nodes of every page stay, the last one included.
    for (const spec of [kept, last])
      expect((await status(spec.uuid)).body).toMatchObject({ state: 'finished' });
    expect(await listed()).toEqual(expect.arrayContaining([kept.uuid, last.uuid]));
    expect(await listed()).not.toContain(gone.uuid);
    expect(await listed()).not.toContain(waiting.uuid);
    expect(
      await stack.store.candidates({ bmc_address: [waiting.bmcAddress], mac: [...waiting.macs] }),
    ).toEqual([[], [], []]);
    // The waiting run ended as runs end, in error and without its timeout job, before it went.
    expect(await failed()).toBe(failedBefore + 1);
    expect(await counted('inspector_ironic_sync_dropped_total')).toBe(droppedBefore + 2);
    expect(await counted('inspector_ironic_sync_total', { result: 'ok' })).toBe(syncsBefore + 1);
    expect(await timeouts.getJob(timeoutJob)).toBeUndefined();
    expect(
      stack.ironic.calls({ method: 'GET' }).filter((c) => c.pathname === '/v1/nodes').length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('frees their NICs for a node enrolled in their place', async () => {
    const old = nodeSpec(3);
    await leaveWaiting(old);
    stack.ironic.removeNode(old.uuid);
    // The same machine enrolled again under a new UUID: its BMC and NICs match both runs alike.
    const fresh = stack.ironic.addNode({
      uuid: '2c0ffee0-fa4e-4000-8000-000000000003',
      name: 'node-3-again',
      driverInfo: old.driverInfo,
      macs: [...old.macs],
    });

    await cleanup(stack.worker);

    const final = await introspect(fresh);
    expect(final).toMatchObject({ state: 'finished', error: null });
    expect(stack.ramdiskReplies.get(fresh.uuid)).toEqual({
      status: 200,
      body: { uuid: fresh.uuid },
    });
  });

  it('stay when Ironic cannot be listed, asked once per pass, and when IRONIC_SYNC is off', async () => {
    const spec = nodeSpec(4);
    await introspect(spec);
    stack.ironic.removeNode(spec.uuid);
    // The next pass asks again; retrying here would hold the maintenance queue through an outage.
    await passAskingOnce({ method: 'GET', path: '/v1/nodes', status: 503 }, 'failed');
    expect((await status(spec.uuid)).status).toBe(200);

    await cleanup({ ...stack.worker, config: { ...stack.worker.config, IRONIC_SYNC: false } });
    expect((await status(spec.uuid)).status).toBe(200);

    await cleanup(stack.worker);
    expect((await status(spec.uuid)).status).toBe(404);
  });

  it('end the pass at the first node Ironic fails to answer for, for the next pass to finish', async () => {
    const [first, second] = [nodeSpec(5), nodeSpec(6)];
    for (const spec of [first, second]) {
      await introspect(spec);
      stack.ironic.removeNode(spec.uuid);
    }
    // One node asked about, once: neither went.
    await passAskingOnce({ method: 'GET', path: /^\/v1\/nodes\/[^/]+$/, status: 503 }, 'failed');
    for (const spec of [first, second]) expect((await status(spec.uuid)).status).toBe(200);

    await cleanup(stack.worker);
    for (const spec of [first, second]) expect((await status(spec.uuid)).status).toBe(404);
  });

  it('skip a node Ironic refuses to answer for, and go on with the others', async () => {
    // Node 7's run, from the first case, is older: the pass checks it first.
    const [refused, gone] = [nodeSpec(7), nodeSpec(8)];
    stack.ironic.addNode({ index: 8 });
    await introspect(gone);
    stack.ironic.removeNode(refused.uuid);
    stack.ironic.removeNode(gone.uuid);
    // A 400 for this one node says nothing of Ironic's health: the pass goes on.
    await passAskingOnce({ method: 'GET', path: `/v1/nodes/${refused.uuid}`, status: 400 }, 'ok');
    expect((await status(refused.uuid)).status).toBe(200);
    expect((await status(gone.uuid)).status).toBe(404);
  });
});
