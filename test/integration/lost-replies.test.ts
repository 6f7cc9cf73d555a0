import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { StateStore, createRedis, redisReady, type RedisClient } from '@inspector/shared';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { waitUntil } from '../helpers/processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from '../helpers/redis.ts';
import {
  startReplyDroppingProxy,
  type ReplyDroppingProxy,
} from '../helpers/reply-dropping-proxy.ts';
import { api, startStack, type Stack } from '../helpers/stack.ts';

/**
 * A state change whose reply is lost with the connection: Redis ran it, ioredis sends it again
 * after reconnecting, and the run has already moved. The caller must be told its move
 * succeeded, not that the run is in the way: else a start answers 409 with no job queued, a
 * callback 403 with the run left processing, a boot job never reboots.
 */
let proxy: ReplyDroppingProxy;
const prefix = testPrefix();
const connections: RedisClient[] = [];

/** A store as the API (or a worker) makes it, on a connection through the proxy. */
async function storeThroughProxy(role: 'api' | 'worker'): Promise<StateStore> {
  const redis = createRedis(proxy.url, role, `lost-replies-${role}`, 'store');
  connections.push(redis);
  expect(await redisReady(redis, 5000)).toBe(true);
  return new StateStore(redis, { prefix, keepTimeMs: 60_000, secretTtlMs: 60_000 });
}

beforeAll(async () => {
  proxy = await startReplyDroppingProxy(REDIS_URL);
});
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
  await proxy.close();
  const redis = newRedis();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

const startRequest = (uuid: string, reqId: string) => ({
  uuid,
  bmc: [],
  macs: ['52:54:00:aa:bb:01'],
  manageBoot: true,
  reqId,
});

/** The write that carries the state change of `uuid` to `state` (the script's arguments). */
const changeTo = (uuid: string, state: string) => (command: string) =>
  command.includes(uuid) && command.includes(`$${state.length}\r\n${state}\r\n`);

describe('a reply lost with the connection', () => {
  it('to a start: the caller gets its run, not a 409', async () => {
    const store = await storeThroughProxy('api');
    const uuid = randomUUID();
    const lost = proxy.loseReplyTo((command) => command.includes('"started_at"'));
    const started = await store.start(startRequest(uuid, 'req-start-1'));
    expect(await lost).toContain(uuid);
    expect(await store.get(uuid)).toMatchObject({
      gen: started.gen,
      state: 'starting',
      req_id: 'req-start-1',
    });
  });

  it('to a change sent again by ioredis: the change is told it went through, a new one is refused', async () => {
    for (const role of ['api', 'worker'] as const) {
      const store = await storeThroughProxy(role);
      const uuid = randomUUID();
      const { gen } = await store.start(startRequest(uuid, `req-${role}`));
      const lost = proxy.loseReplyTo(changeTo(uuid, 'waiting'));
      expect(await store.transition(uuid, gen, 'wait')).toEqual({ ok: true, from: 'starting' });
      expect(await lost).toContain(uuid);
      expect(await store.transition(uuid, gen, 'wait')).toEqual({
        ok: false,
        reason: 'conflict',
        state: 'waiting',
      });
    }
  });

  it('to a change pipelined behind an answered command, which ioredis rejects: sent again', async () => {
    for (const role of ['api', 'worker'] as const) {
      const store = await storeThroughProxy(role);
      const redis = connections.at(-1)!;
      const uuid = randomUUID();
      const { gen } = await store.start(startRequest(uuid, `req-pipelined-${role}`));
      const record = (await store.get(uuid))!;
      const lost = proxy.loseReplyTo(changeTo(uuid, 'waiting'), { keepFirstLine: true });
      // Issued in one tick, the two go out in one pipeline (the store's connection pipelines
      // by itself); the read of a missing key is answered in one line, the change is not.
      const [missing, moved] = await Promise.all([
        redis.get(`${prefix}:missing`),
        store.transition(uuid, gen, 'wait', { record }),
      ]);
      const command = await lost;
      expect(command).toContain(`${prefix}:missing`);
      expect(missing).toBeNull();
      expect(moved).toEqual({ ok: true, from: 'starting' });
      expect(await store.get(uuid)).toMatchObject({ state: 'waiting' });
    }
  });
});

describe('a stack whose Redis connections drop as a reply comes back', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ REDIS_URL: proxy.url }, { nodes: 2 });
    stack.onBoot = () => null;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('takes a ramdisk callback whose move to processing lost its reply, and finishes the run', async () => {
    const spec = nodeSpec(0);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil('waiting', async () => (await stack.store.get(spec.uuid))?.state === 'waiting');
    // Only the move to processing carries the raw data, and with it this serial.
    const data = buildRamdiskData(spec);
    const inventory = data.inventory as { system_vendor: Record<string, unknown> };
    inventory.system_vendor.serial_number = 'LOST-REPLY-SERIAL';
    const lost = proxy.loseReplyTo((command) => command.includes('LOST-REPLY-SERIAL'));
    const reply = await postRamdiskData(stack.url, data);
    expect(await lost).toContain('processing');
    expect(reply.status).toBe(200);
    await waitUntil(
      'finished',
      async () => (await stack.store.get(spec.uuid))?.state === 'finished',
    );
  });

  it('aborts a run whose move to aborting lost its reply, and powers the node off', async () => {
    const spec = nodeSpec(1);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil('waiting', async () => (await stack.store.get(spec.uuid))?.state === 'waiting');
    const lost = proxy.loseReplyTo(changeTo(spec.uuid, 'aborting'));
    const res = await api(stack, 'POST', `/v1/introspection/${spec.uuid}/abort`);
    expect(await lost).toContain(spec.uuid);
    expect(res.status).toBe(202);
    const record = await waitUntil('aborted', async () => {
      const r = await stack.store.get(spec.uuid);
      return r?.state === 'error' ? r : null;
    });
    expect(record.error).toBe('Canceled by operator');
    expect(stack.ironic.node(spec.uuid)!.power_state).toBe('power off');
  });
});
