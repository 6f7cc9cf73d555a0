import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobId } from '@inspector/shared';
import { introspect } from '../../apps/worker/src/processors/introspect.ts';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { waitUntil } from '../helpers/processes.ts';
import { newRedis } from '../helpers/redis.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

/**
 * Upstream's introspection_delay: nodes started together PXE-boot one gap
 * apart, the gap shared by every worker, so that DHCP and TFTP are not
 * swamped. Two stacks (API and workers each) on one Redis prefix stand for
 * two hosts.
 */
const GAP_S = 2;
let a: Stack;
let b: Stack;
const redis = newRedis();

beforeAll(async () => {
  a = await startStack({ INTROSPECTION_DELAY_S: String(GAP_S) }, { nodes: 20 });
  b = await startStack({
    INTROSPECTION_DELAY_S: String(GAP_S),
    REDIS_PREFIX: a.config.REDIS_PREFIX,
    IRONIC_URL: a.ironic.url,
  });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  await redis.quit();
});

/** When the fake Ironic was asked to set each node's boot device, the first step of its turn (ms). */
const turnTimes = (uuids: string[]) =>
  uuids.map((uuid) => {
    const call = a.ironic
      .calls({ node: uuid, method: 'PUT' })
      .find((c) => c.path.endsWith('/management/boot_device'));
    expect(call, `a boot device call for ${uuid}`).toBeDefined();
    return call!.at;
  });

/** The boot job of the node's current run. */
async function bootJob(uuid: string) {
  const { gen } = (await a.store.get(uuid))!;
  return a.worker.queues.byName.introspection.getJob(
    jobId('introspect', { node: uuid, gen, reqId: '' }),
  );
}

/** The boot job of the node's current run, once it waits in BullMQ's delayed set for its turn. */
const delayedBootJob = (uuid: string) =>
  waitUntil('the boot job delayed', async () => {
    const job = await bootJob(uuid);
    return (await job?.isDelayed()) ? job : null;
  });

describe('reboots paced by INTROSPECTION_DELAY_S', () => {
  it('boots nodes started together one gap apart, across API and worker hosts', async () => {
    const uuids = [0, 1, 2, 3].map((i) => nodeSpec(i).uuid);
    const started = await Promise.all(
      uuids.map((uuid, i) => api(i % 2 ? b : a, 'POST', `/v1/introspection/${uuid}`)),
    );
    expect(started.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    for (const uuid of uuids)
      expect(await finishedStatus(a, uuid, 60_000)).toMatchObject({ state: 'finished' });

    const times = turnTimes(uuids).sort((x, y) => x - y);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Redis's clock sets the pace and the fake Ironic's stamps the calls, one HTTP call after a
    // turn begins: a generous margin, still far above the few ms unpaced boots come apart.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(GAP_S * 1000 - 500);

    // Waiting for its turn cost a job no attempt: each completed on its first (BullMQ counts the
    // completion as the attempt made).
    for (const uuid of uuids) expect((await bootJob(uuid))?.attemptsMade).toBe(1);
  });

  it('an abort while the run waits for its turn leaves the node off', async () => {
    const [first, second] = [nodeSpec(4), nodeSpec(5)];
    expect((await api(a, 'POST', `/v1/introspection/${first.uuid}`)).status).toBe(202);
    await a.ironic.waitForCall({ node: first.uuid, method: 'PUT', pathRe: /\/states\/power$/ });
    // A long line of reboots ahead: the second run waits for a minute.
    await redis.set(a.store.keys.rebootNext, Date.now() + 60_000, 'PX', 60_000);
    expect((await api(a, 'POST', `/v1/introspection/${second.uuid}`)).status).toBe(202);
    const job = await delayedBootJob(second.uuid);
    expect((await api(a, 'GET', `/v1/introspection/${second.uuid}`)).body.state).toBe('starting');

    expect((await api(a, 'POST', `/v1/introspection/${second.uuid}/abort`)).status).toBe(202);
    expect(await finishedStatus(a, second.uuid)).toMatchObject({
      state: 'error',
      error: 'Canceled by operator',
    });
    // Its turn come early: the boot job runs, finds the run ended, and boots nothing.
    await job.promote();
    await waitUntil('the boot job done', async () => (await job.isCompleted()) || null);
    const power = a.ironic
      .calls({ node: second.uuid, method: 'PUT' })
      .filter((c) => c.path.endsWith('/states/power'))
      .map((c) => (c.body as { target: string }).target);
    expect(power).not.toContain('rebooting');
    expect(power).not.toContain('power on');
    expect(a.ironic.node(second.uuid)!.power_state).toBe('power off');
    expect(await finishedStatus(a, first.uuid)).toMatchObject({ state: 'finished' });
  });

  it('a boot job whose lock this worker lost leaves the run to whoever holds the job', async () => {
    const spec = nodeSpec(6);
    await redis.set(a.store.keys.rebootNext, Date.now() + 60_000, 'PX', 60_000);
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    const record = (await a.store.get(spec.uuid))!;
    const job = await delayedBootJob(spec.uuid);
    // As a worker whose lock expired would: BullMQ refuses to move a job it does not hold.
    await expect(introspect(a.worker, job, 'a-lock-long-expired')).rejects.toThrow(
      /could not delay the job/,
    );
    expect(await a.store.get(spec.uuid)).toMatchObject({ state: 'starting', gen: record.gen });
    expect(await job.isDelayed()).toBe(true);
    expect((await api(a, 'POST', `/v1/introspection/${spec.uuid}/abort`)).status).toBe(202);
  });

  it('a batch aborted and started again does not queue behind its own dead places', async () => {
    const batch = Array.from({ length: 12 }, (_, i) => nodeSpec(7 + i).uuid);
    // Hold the line a moment so that the whole batch is in it when it is aborted.
    await redis.set(a.store.keys.rebootNext, Date.now() + 3_000, 'PX', 3_000);
    // A run ahead of the batch, still live when the batch asks again: the dead places sit behind
    // it, where no job looking at the head of the line would drop them.
    const ahead = nodeSpec(19).uuid;
    expect((await api(a, 'POST', `/v1/introspection/${ahead}`)).status).toBe(202);
    await waitUntil(
      'the run ahead in line',
      async () =>
        (await redis.zscore(
          a.store.keys.rebootLine,
          `${ahead}@${(await a.store.get(ahead))!.gen}`,
        )) !== null,
    );
    for (const uuid of batch)
      expect((await api(a, 'POST', `/v1/introspection/${uuid}`)).status).toBe(202);
    for (const uuid of batch)
      expect((await api(a, 'POST', `/v1/introspection/${uuid}/abort`)).status).toBe(202);
    for (const uuid of batch)
      expect(await finishedStatus(a, uuid)).toMatchObject({ state: 'error' });
    const restartedAt = Date.now();
    for (const uuid of batch)
      expect((await api(a, 'POST', `/v1/introspection/${uuid}`)).status).toBe(202);

    // The first of the new runs asked behind the run ahead and 12 dead places (3 s + 13 gaps,
    // 29 s), and asks again after recheckMs (10 s), when they are dropped.
    const firstBoot = await waitUntil(
      'the first boot of the batch started again',
      async () =>
        a.ironic
          .calls({ method: 'PUT', pathRe: /\/management\/boot_device$/ })
          .find((c) => c.at >= restartedAt && batch.includes(c.node ?? '')) ?? null,
      30_000,
    );
    expect(firstBoot.at - restartedAt).toBeLessThan(17_000);
    for (const uuid of batch) await api(a, 'POST', `/v1/introspection/${uuid}/abort`);
    expect(await finishedStatus(a, ahead)).toMatchObject({ state: 'finished' });
  }, 45_000);
});
