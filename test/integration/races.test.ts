import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JOBS_TO_QUEUE,
  TERMINAL_STATES,
  jobId,
  type NodeRecord,
  type State,
} from '@inspector/shared';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { waitUntil } from '../helpers/processes.ts';
import { newRedis } from '../helpers/redis.ts';
import { api, startStack, type Stack } from '../helpers/stack.ts';

/**
 * Two API replicas and two sets of workers on one Redis, hammering the same
 * nodes with start, restart, abort and ramdisk callbacks at once. Whatever
 * interleaving happens, each node ends in a legal state and its record, its
 * lookup entries and its data belong to one run only.
 */
let a: Stack;
let b: Stack;
const redis = newRedis();

beforeAll(async () => {
  // Room for the cases that hold Ironic's answers for seconds to line events up.
  a = await startStack({ IRONIC_TIMEOUT_MS: '8000' }, { nodes: 12 });
  // Replica B shares A's Redis prefix and A's Ironic.
  b = await startStack(
    { REDIS_PREFIX: a.config.REDIS_PREFIX, IRONIC_URL: a.ironic.url, IRONIC_TIMEOUT_MS: '8000' },
    { nodes: 0 },
  );
  a.onBoot = () => null;
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  await redis.quit();
});

const legalIdle: State[] = ['waiting', 'finished', 'error'];

/** Starts a run whose reboot Ironic holds for `holdMs`; resolves with the run once it is sent. */
async function startWithHeldReboot(uuid: string, holdMs: number): Promise<NodeRecord> {
  const put = { node: uuid, method: 'PUT' };
  const power = /\/states\/power$/;
  a.ironic.faults.add({ ...put, path: power, delayMs: holdMs, times: 1 });
  expect((await api(a, 'POST', `/v1/introspection/${uuid}`)).status).toBe(202);
  await waitUntil('the reboot under way', async () =>
    a.ironic.calls({ ...put, pathRe: power, status: 0 }).length > 0 ? true : null,
  );
  return (await a.store.get(uuid))!;
}

describe('replicas racing on the same nodes', () => {
  it('never lets a stale run or an illegal event change a node', async () => {
    const specs = [0, 1, 2, 3, 4].map((i) => nodeSpec(i));
    const statuses = new Set<number>();
    for (let round = 0; round < 6; round++) {
      const ops = specs.flatMap((spec) => {
        const data = buildRamdiskData(spec);
        return [
          api(a, 'POST', `/v1/introspection/${spec.uuid}`),
          api(b, 'POST', `/v1/introspection/${spec.uuid}`),
          api(round % 2 ? a : b, 'POST', `/v1/introspection/${spec.uuid}/abort`),
          postRamdiskData(a.url, data),
          postRamdiskData(b.url, data),
        ];
      });
      for (const res of await Promise.all(ops)) {
        statuses.add(res.status);
      }
    }
    // Every answer is a deliberate one: accepted, refused by the state machine, or not found.
    for (const code of statuses) expect([200, 202, 400, 403, 404, 409]).toContain(code);

    for (const spec of specs) {
      const record = await waitUntil(`${spec.name} settled`, async () => {
        const r = await a.store.get(spec.uuid);
        return r && legalIdle.includes(r.state) ? r : null;
      });
      const keys = a.store.keys;
      const indexed = await Promise.all(
        spec.macs.map((m) => redis.sismember(keys.mac(m), spec.uuid)),
      );
      if (TERMINAL_STATES.has(record.state)) {
        expect(record.finished_at).not.toBeNull();
        expect(indexed).toEqual([0, 0]);
        expect(await redis.zscore(keys.active, spec.uuid)).toBeNull();
      } else {
        expect(record.finished_at).toBeNull();
        expect(indexed).toEqual([1, 1]);
      }
      if (record.state === 'error') expect(record.error).toBeTruthy();
      // A second replica's view is the same record.
      expect(await b.store.get(spec.uuid)).toEqual(record);
    }
  });

  it('exactly one of many concurrent callbacks for a waiting node is accepted', async () => {
    const spec = nodeSpec(7);
    await api(a, 'POST', `/v1/introspection/${spec.uuid}`);
    await waitUntil('waiting', async () => (await a.store.get(spec.uuid))?.state === 'waiting');
    const data = buildRamdiskData(spec);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => postRamdiskData(i % 2 ? a.url : b.url, data)),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status !== 200).every((r) => r.status === 403)).toBe(true);
    await waitUntil('finished', async () => (await a.store.get(spec.uuid))?.state === 'finished');
    expect(a.ironic.portsOf(spec.uuid)).toHaveLength(2);
  });

  it('good and failing callbacks racing for a waiting node: one is taken, the run ends as it says', async () => {
    const spec = nodeSpec(6);
    await api(a, 'POST', `/v1/introspection/${spec.uuid}`);
    await waitUntil('waiting', async () => (await a.store.get(spec.uuid))?.state === 'waiting');
    const good = buildRamdiskData(spec);
    const failing = { ...good, error: 'disk on fire' };
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        postRamdiskData(i % 2 ? a.url : b.url, i % 4 < 2 ? good : failing),
      ),
    );
    // A refused callback names the node only once it was found waiting and ended the run.
    const taken = replies.filter(
      (r) => r.status === 200 || (r.status === 400 && JSON.stringify(r.body).includes(spec.uuid)),
    );
    expect(taken).toHaveLength(1);
    // The others find the run taken (403), or, once a failing one ended it, no run to look up:
    // 404 for good data, 400 naming the lookup for data the hooks refused.
    for (const r of replies.filter((reply) => !taken.includes(reply))) {
      expect([403, 404, 400]).toContain(r.status);
      if (r.status === 400) expect(JSON.stringify(r.body)).toContain('Look up error');
    }
    const final = await waitUntil('the run ended', async () => {
      const r = await a.store.get(spec.uuid);
      return r && TERMINAL_STATES.has(r.state) ? r : null;
    });
    expect(final.state).toBe(taken[0]!.status === 200 ? 'finished' : 'error');
    if (final.state === 'error') expect(final.error).toContain('disk on fire');
  });

  it('a boot failing after the ramdisk called back leaves the run to its processing', async () => {
    const spec = nodeSpec(8);
    // The reboot is refused for good, but only after the ramdisk (booted by an earlier attempt,
    // say) has called back; the processing is slow enough to be under way when it is refused.
    a.ironic.faults.add({
      node: spec.uuid,
      method: 'PUT',
      path: /\/states\/power$/,
      status: 400,
      message: 'power interface refused the reboot',
      delayMs: 3000,
      times: 1,
    });
    a.ironic.faults.add({ node: spec.uuid, method: 'PATCH', delayMs: 6000, times: 1 });
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil('waiting', async () => (await a.store.get(spec.uuid))?.state === 'waiting');
    expect((await postRamdiskData(a.url, buildRamdiskData(spec))).status).toBe(200);
    const final = await waitUntil('the run ended', async () => {
      const r = await a.store.get(spec.uuid);
      return r && TERMINAL_STATES.has(r.state) ? r : null;
    });
    expect({ state: final.state, error: final.error }).toEqual({ state: 'finished', error: null });
  });

  it('an abort outlived by its run while it waits for the boot leaves the next run alone', async () => {
    const spec = nodeSpec(5);
    const since = Date.now();
    // The abort waits for the boot job that sent the held reboot.
    const old = await startWithHeldReboot(spec.uuid, 5000);
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}/abort`)).status).toBe(202);
    const abortJob = await waitUntil('the abort job waiting for the boot', async () => {
      const found = await a.worker.queues.byName[JOBS_TO_QUEUE.abort].getJob(
        jobId('abort', { node: spec.uuid, gen: old.gen, reqId: '' }),
      );
      return found && (await found.isActive()) ? found : null;
    });
    // What the run's timeout job does when it fires; then the operator starts the node again.
    expect(await a.store.transition(spec.uuid, old.gen, 'timeout', { error: 'timeout' })).toEqual({
      ok: true,
      from: 'aborting',
    });
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil('the old abort job done', async () => (await abortJob.isCompleted()) || null);
    // The new run's boot waited for the same held reboot: it goes on once that is done.
    await waitUntil('the new run waiting', async () =>
      (await a.store.get(spec.uuid))?.state === 'waiting' ? true : null,
    );
    const powerOffs = a.ironic
      .calls({ node: spec.uuid, method: 'PUT', pathRe: /\/states\/power$/ })
      .filter((c) => c.at >= since && (c.body as { target?: string }).target === 'power off');
    expect(powerOffs).toEqual([]);
  });

  it("a restart while the last run's reboot is held still boots the new run from PXE", async () => {
    const spec = nodeSpec(10);
    // Held as Ironic would retry one answered 409 (the node locked).
    const old = await startWithHeldReboot(spec.uuid, 4000);
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    const boots = a.ironic.node(spec.uuid)!.fake.boots;
    await waitUntil('both reboots done', async () => (boots.length >= 2 ? true : null));
    // The held reboot used the first run's PXE setting; the new run set it again after.
    expect(boots.map((b) => b.bootDevice)).toEqual(['pxe', 'pxe']);
    const record = (await a.store.get(spec.uuid))!;
    expect(record.gen).toBeGreaterThan(old.gen);
    expect(record.state).toBe('waiting');
  });

  it('a processing job outlived by its run while Ironic lists ports writes nothing to the node', async () => {
    const spec = nodeSpec(11);
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil('waiting', async () => (await a.store.get(spec.uuid))?.state === 'waiting');
    const old = (await a.store.get(spec.uuid))!;
    // Ironic holds the port listing that comes before the node update.
    a.ironic.faults.add({
      node: spec.uuid,
      method: 'GET',
      path: '/v1/ports',
      delayMs: 4000,
      times: 1,
    });
    expect((await postRamdiskData(a.url, buildRamdiskData(spec))).status).toBe(200);
    await waitUntil('the port listing under way', async () =>
      a.ironic.calls({ node: spec.uuid, method: 'GET', pathRe: /^\/v1\/ports/, status: 0 }).length
        ? true
        : null,
    );
    expect(await a.store.transition(spec.uuid, old.gen, 'timeout', { error: 'timeout' })).toEqual({
      ok: true,
      from: 'processing',
    });
    const restartedAt = Date.now();
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    const oldJob = await a.worker.queues.byName.processing.getJob(
      jobId('process', { node: spec.uuid, gen: old.gen, reqId: '' }),
    );
    await waitUntil(
      'the old processing job done',
      async () => (await oldJob!.isCompleted()) || null,
    );
    const writes = a.ironic
      .calls({ node: spec.uuid })
      .filter((c) => c.at >= restartedAt && ['PATCH', 'POST', 'DELETE'].includes(c.method));
    expect(writes).toEqual([]);
  });

  it('a processing job outlived by its run leaves the node of the next run alone', async () => {
    const spec = nodeSpec(9);
    // Ironic holds the node update for a while: long enough for the run to time out and the
    // operator to start the node again meanwhile.
    a.ironic.faults.add({ node: spec.uuid, method: 'PATCH', delayMs: 5000, times: 1 });
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil('waiting', async () => (await a.store.get(spec.uuid))?.state === 'waiting');
    const old = (await a.store.get(spec.uuid))!;
    expect((await postRamdiskData(a.url, buildRamdiskData(spec))).status).toBe(200);
    await waitUntil('the node update under way', async () =>
      a.ironic.calls({ node: spec.uuid, method: 'PATCH' }).length > 0 ? true : null,
    );
    // What the run's timeout job does when it fires.
    expect(await a.store.transition(spec.uuid, old.gen, 'timeout', { error: 'timeout' })).toEqual({
      ok: true,
      from: 'processing',
    });
    const restartedAt = Date.now();
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil('the new run booted, while the old job waits on Ironic', async () =>
      a.ironic
        .calls({ node: spec.uuid, method: 'PUT', pathRe: /\/states\/power$/ })
        .some((c) => c.at >= restartedAt && c.status === 202)
        ? true
        : null,
    );
    expect(a.ironic.calls({ node: spec.uuid, method: 'PATCH', status: 0 })).toHaveLength(1);
    const oldJob = await a.worker.queues.byName.processing.getJob(
      jobId('process', { node: spec.uuid, gen: old.gen, reqId: '' }),
    );
    await waitUntil(
      'the old processing job done',
      async () => (await oldJob!.isCompleted()) || null,
    );
    expect(a.ironic.node(spec.uuid)!.power_state).toBe('power on');
    expect((await a.store.get(spec.uuid))?.state).toBe('waiting');
  });
});
