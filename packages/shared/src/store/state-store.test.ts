import { randomUUID } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { dropPrefix, testPrefix, testStore } from '../../../../test/helpers/redis.ts';
import { StateStore } from './state-store.ts';
import type { State } from '../state-machine.ts';

const { redis, store, close } = testStore();
afterAll(close);

let uuid: string;
let bmc: string;
let bmc2: string;
let n = 0;
beforeEach(() => {
  uuid = randomUUID();
  n++;
  bmc = `10.0.${n}.1`;
  bmc2 = `10.0.${n}.2`;
});

/** A store under a prefix of its own, for cases that read whole indexes. */
const ownStore = (keepTimeMs = 60_000) =>
  new StateStore(redis, { prefix: testPrefix(), keepTimeMs, secretTtlMs: 1000 });

const mac = () => `52:54:00:00:${n.toString(16).padStart(2, '0')}:01`;

const start = (over: Partial<Parameters<StateStore['start']>[0]> = {}) =>
  store.start({
    uuid,
    bmc: [bmc],
    macs: [mac()],
    manageBoot: true,
    reqId: 'r',
    ...over,
  });

describe('StateStore (real Redis)', () => {
  it('starts a run in state starting with a fresh generation and a lookup entry', async () => {
    const { gen } = await start();
    const record = await store.get(uuid);
    expect(record).toMatchObject({ uuid, state: 'starting', gen, finished_at: null, error: null });
    const matches = await store.candidates({
      bmc_address: [bmc],
      mac: [mac()],
    });
    expect(matches).toEqual([[uuid], [uuid]]);
  });

  it('starts a discovered node enrolling, marked as discovered, ready for its data', async () => {
    const { gen } = await start({ discovered: true });
    expect(await store.get(uuid)).toMatchObject({ state: 'enrolling', auto_discovered: true });
    expect(await store.transition(uuid, gen, 'wait')).toMatchObject({ ok: false });
    expect(await store.transition(uuid, gen, 'process')).toEqual({ ok: true, from: 'enrolling' });
    // A run started again by the API is no longer a discovered one.
    await store.transition(uuid, gen, 'error', { error: 'x' });
    await start();
    expect(await store.get(uuid)).toMatchObject({ state: 'starting', auto_discovered: false });
  });

  it('claims a machine for discovery all or nothing, until released', async () => {
    const attrs = { bmc_address: [bmc], mac: [mac()] };
    const claim = await store.claimForEnrollment(attrs, 60_000);
    expect(claim).not.toBeNull();
    // Any one attribute held refuses the whole claim, and takes none of the others.
    expect(await store.claimForEnrollment({ bmc_address: [bmc2], mac: [mac()] }, 60_000)).toBe(
      null,
    );
    expect(await store.claimForEnrollment({ bmc_address: [bmc2], mac: [] }, 60_000)).not.toBeNull();
    expect(await claim!.renew()).toBe(true);
    await claim!.release();
    expect(await store.claimForEnrollment(attrs, 60_000)).not.toBeNull();
  });

  it('lets a claim lapse, and then no longer renews it', async () => {
    // A request that died holding a claim blocks the machine no longer than its TTL.
    const attrs = { bmc_address: [`10.1.${n}.9`], mac: [] };
    const claim = await store.claimForEnrollment(attrs, 50);
    await new Promise((r) => setTimeout(r, 80));
    const next = await store.claimForEnrollment(attrs, 60_000);
    expect(next).not.toBeNull();
    expect(await claim!.renew()).toBe(false);
    // Releasing a lapsed claim leaves the next holder's in place.
    await claim!.release();
    expect(await store.claimForEnrollment(attrs, 60_000)).toBeNull();
  });

  it("reads a run's generation and state alone", async () => {
    expect(await store.runState(uuid)).toBeNull();
    const { gen } = await start();
    expect(await store.runState(uuid)).toEqual({ gen, state: 'starting' });
    await store.transition(uuid, gen, 'wait');
    expect(await store.runState(uuid)).toEqual({ gen, state: 'waiting' });
  });

  it('refuses a stale generation and an illegal event, and says why', async () => {
    const { gen } = await start();
    expect(await store.transition(uuid, gen + 1000, 'wait')).toEqual({
      ok: false,
      reason: 'stale',
      state: 'starting',
    });
    expect(await store.transition(uuid, gen, 'finish')).toEqual({
      ok: false,
      reason: 'conflict',
      state: 'starting',
    });
    expect(await store.transition(uuid, gen, 'wait')).toEqual({ ok: true, from: 'starting' });
  });

  it('ends a run only from the states its caller names', async () => {
    const { gen } = await start();
    await store.transition(uuid, gen, 'wait');
    const only = (onlyFrom: State[]) =>
      store.transition(uuid, gen, 'error', { error: 'boom', onlyFrom });
    expect(await only(['starting'])).toEqual({ ok: false, reason: 'conflict', state: 'waiting' });
    expect(await only([])).toEqual({ ok: false, reason: 'conflict', state: 'waiting' });
    expect((await store.get(uuid))?.state).toBe('waiting');
    expect(await only(['starting', 'waiting'])).toEqual({ ok: true, from: 'waiting' });
  });

  it('a terminal transition frees the lookup index, sets finished_at and expires the record', async () => {
    const { gen } = await start({ credentials: { username: 'u', password: 'secretpw' } });
    expect(await store.getSecret(uuid, gen)).toBe('secretpw');
    await store.transition(uuid, gen, 'wait');
    await store.transition(uuid, gen, 'error', { error: 'boom' }, 1_000_000);
    const record = await store.get(uuid);
    expect(record).toMatchObject({ state: 'error', error: 'boom', finished_at: 1_000_000 });
    expect(await store.candidates({ bmc_address: [bmc], mac: [] })).toEqual([[]]);
    expect(await store.getSecret(uuid, gen)).toBeNull();
    const ttl = await redis.pttl(store.keys.node(uuid));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('processed data is written for the current run only, and expires with an ended run', async () => {
    const { gen } = await start();
    await store.transition(uuid, gen, 'wait');
    await store.transition(uuid, gen, 'process', { raw: '{}' });
    expect(await store.setProcessed(uuid, gen, '{"a":1}')).toBe(true);
    expect(await redis.pttl(store.keys.processed(uuid))).toBe(-1);
    expect(await store.setProcessed(uuid, gen + 1, '{"stale":1}')).toBe(false);
    expect(await store.getProcessed(uuid)).toBe('{"a":1}');
    // A timeout ends the run while the worker is still processing: its late write must expire too.
    await store.transition(uuid, gen, 'timeout', { error: 'timeout' });
    expect(await store.setProcessed(uuid, gen, '{"a":2}')).toBe(true);
    const ttl = await redis.pttl(store.keys.processed(uuid));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("with the caller's record: frees the lookup index, and still refuses a restarted run", async () => {
    const { gen } = await start();
    const first = (await store.get(uuid))!;
    expect(await store.transition(uuid, gen, 'wait', { record: first })).toEqual({
      ok: true,
      from: 'starting',
    });
    const { gen: gen2 } = await start();
    // The record is of the old run: the script, not the record, decides.
    expect(await store.transition(uuid, gen, 'error', { record: first })).toEqual({
      ok: false,
      reason: 'stale',
      state: 'starting',
    });
    const second = (await store.get(uuid))!;
    await store.transition(uuid, gen2, 'error', { error: 'boom', record: second });
    expect(await store.candidates({ bmc_address: [bmc], mac: [mac()] })).toEqual([[], []]);
    expect(await store.get(uuid)).toMatchObject({ gen: gen2, state: 'error', error: 'boom' });
  });

  it('reads the status part of a record alone, equal to the same fields of the whole', async () => {
    expect(await store.getStatus(uuid)).toBeNull();
    const { gen } = await start();
    const running = await store.getStatus(uuid);
    expect(running).toEqual({
      uuid,
      state: 'starting',
      started_at: expect.any(Number),
      finished_at: null,
      error: null,
    });
    await store.transition(uuid, gen, 'wait');
    await store.transition(uuid, gen, 'error', { error: 'boom' }, 2_000_000);
    const { uuid: u, state, started_at, finished_at, error } = (await store.get(uuid))!;
    expect(await store.getStatus(uuid)).toEqual({ uuid: u, state, started_at, finished_at, error });
    expect(await store.getStatus(uuid)).toMatchObject({ state: 'error', finished_at: 2_000_000 });
  });

  it('a restart makes a new generation and replaces the old lookup entries', async () => {
    const first = await start();
    await store.transition(uuid, first.gen, 'wait');
    const second = await start({ bmc: [bmc2], macs: [] });
    expect(second.gen).toBeGreaterThan(first.gen);
    // The run replaced is named, for the new boot to wait out its boot job; a first has none.
    expect(second.replaced).toBe(first.gen);
    expect(first.replaced).toBeUndefined();
    expect(await store.candidates({ bmc_address: [bmc, bmc2], mac: [] })).toEqual([[], [uuid]]);
    await store.transition(uuid, second.gen, 'error', { error: 'x' });
    expect((await start()).replaced).toBe(second.gen);
    expect(await store.transition(uuid, first.gen, 'wait')).toMatchObject({
      ok: false,
      reason: 'stale',
    });
  });

  it('refuses to restart a run that is processing, naming the state', async () => {
    const { gen } = await start();
    await store.transition(uuid, gen, 'wait');
    await store.transition(uuid, gen, 'process', { raw: '{"a":1}' });
    expect(await store.getRaw(uuid)).toBe('{"a":1}');
    await expect(start()).rejects.toThrow(
      "Can not transition from state 'processing' on event 'start'",
    );
  });

  it('many concurrent starts of one node leave exactly one current run', async () => {
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => start()));
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok.length).toBeGreaterThan(0);
    const record = await store.get(uuid);
    const gens = ok.map((r) => (r as PromiseFulfilledResult<{ gen: number }>).value.gen);
    expect(gens).toContain(record!.gen);
    expect(Math.max(...gens)).toBe(record!.gen);
  });

  it('lists newest first with marker, limit and state filter', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const local = ownStore();
    for (const [i, id] of ids.entries()) {
      await local.start(
        { uuid: id, bmc: [], macs: [`52:54:00:00:01:0${i}`], manageBoot: true, reqId: '' },
        1000 + i,
      );
    }
    const rec = await local.get(ids[0]!);
    await local.transition(ids[0]!, rec!.gen, 'error', { error: 'x' });
    expect((await local.list({ limit: 10 }))!.map((r) => r.uuid)).toEqual([...ids].reverse());
    expect((await local.list({ limit: 1, marker: ids[2] }))!.map((r) => r.uuid)).toEqual([ids[1]]);
    expect((await local.list({ limit: 10, states: ['error'] }))!.map((r) => r.uuid)).toEqual([
      ids[0],
    ]);
    expect(await local.list({ limit: 10, marker: randomUUID() })).toBeNull();
    await dropPrefix(redis, local.keys.index.replace(':nodes', ''));
  });

  it('clean-up drops index entries of expired runs and lists stale active runs', async () => {
    const local = ownStore(50);
    const a = randomUUID();
    const b = randomUUID();
    const ga = await local.start(
      { uuid: a, bmc: [], macs: ['52:54:00:00:02:01'], manageBoot: true, reqId: '' },
      1,
    );
    await local.start(
      { uuid: b, bmc: [], macs: ['52:54:00:00:02:02'], manageBoot: true, reqId: '' },
      2,
    );
    expect((await local.staleRuns(10)).map((r) => r.uuid)).toEqual([a, b]);
    await local.transition(a, ga.gen, 'error', { error: 'x' });
    expect((await local.staleRuns(10)).map((r) => r.uuid)).toEqual([b]);
    await new Promise((r) => setTimeout(r, 120));
    expect(await local.cleanup()).toBe(1);
    expect((await local.list({ limit: 10 }))!.map((r) => r.uuid)).toEqual([b]);
    await dropPrefix(redis, local.keys.index.replace(':nodes', ''));
  });

  it('forgets a run with its data and lookup entries, unless the node was started again', async () => {
    const local = ownStore();
    const k = local.keys;
    const [a, b] = [randomUUID(), randomUUID()];
    const macA = '52:54:00:00:03:01';
    const ga = await local.start(
      { uuid: a, bmc: ['10.3.0.1'], macs: [macA], manageBoot: true, reqId: '' },
      1,
    );
    await local.start(
      { uuid: b, bmc: [], macs: ['52:54:00:00:03:02'], manageBoot: true, reqId: '' },
      5,
    );
    expect(await local.indexedBefore(5)).toEqual([a]);
    expect(await local.indexedBefore(6)).toEqual([a, b]);

    // A run read, then ended and started again: what was read is no longer the current run.
    const stale = (await local.get(a))!;
    await local.transition(a, ga.gen, 'error', { error: 'x' });
    await local.start({ uuid: a, bmc: ['10.3.0.1'], macs: [macA], manageBoot: true, reqId: '' }, 7);
    expect(await local.forget(stale)).toBe(false);
    const current = (await local.get(a))!;
    expect(current.gen).not.toBe(stale.gen);
    await redis.set(k.raw(a), '{}');
    await redis.set(k.processed(a), '{}');

    expect(await local.forget(current)).toBe(true);
    expect(await local.get(a)).toBeNull();
    expect(await redis.exists(k.raw(a), k.processed(a))).toBe(0);
    expect(await local.candidates({ bmc_address: ['10.3.0.1'], mac: [macA] })).toEqual([[], []]);
    expect(await redis.zscore(k.active, a)).toBeNull();
    expect((await local.list({ limit: 10 }))!.map((r) => r.uuid)).toEqual([b]);
    await dropPrefix(redis, k.index.replace(':nodes', ''));
  });

  it('reads the MACs of runs whose node boots or runs the ramdisk, a reapply aside', async () => {
    const own = ownStore();
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const run = (node: string, macs: string[]) =>
      own.start({ uuid: node, bmc: [], macs, manageBoot: true, reqId: 'r' });
    const ga = (await run(a, ['52:54:00:aa:00:01', '52:54:00:aa:00:02'])).gen;
    const gb = (await run(b, ['52:54:00:bb:00:01'])).gen;
    const gc = (await run(c, ['52:54:00:cc:00:01'])).gen;
    await own.transition(a, ga, 'wait');
    await own.transition(a, ga, 'process');
    await own.transition(b, gb, 'error', { error: 'x' });
    await own.transition(c, gc, 'error', { error: 'x' });
    await own.transition(c, gc, 'reapply');
    expect(await own.ramdiskMacs()).toEqual({
      runs: 1,
      macs: new Set(['52:54:00:aa:00:01', '52:54:00:aa:00:02']),
    });
    await own.transition(a, ga, 'finish');
    expect(await own.ramdiskMacs()).toEqual({ runs: 0, macs: new Set() });
    await dropPrefix(redis, own.keys.index.replace(/:nodes$/, ''));
  });

  it('reads the index whole across pages', async () => {
    const local = ownStore();
    const uuids = Array.from({ length: 7 }, () => randomUUID());
    for (const [i, u] of uuids.entries())
      await local.start({ uuid: u, bmc: [], macs: [], manageBoot: true, reqId: '' }, 10 + (i % 3));
    const read = await local.indexedBefore(100, 3);
    expect(read).toHaveLength(7);
    expect(new Set(read)).toEqual(new Set(uuids));
    await dropPrefix(redis, local.keys.index.replace(':nodes', ''));
  });

  it('lines reboots up one gap apart: places kept, given back by ended runs, a retry at once', async () => {
    const local = ownStore();
    const gap = 10_000;
    const run = async () => {
      const uuid = randomUUID();
      const { gen } = await local.start({ uuid, bmc: [], macs: [], manageBoot: true, reqId: '' });
      return { uuid, gen };
    };
    const [a, b, c] = [await run(), await run(), await run()];
    expect(await local.reserveReboot(a.uuid, a.gen, gap)).toBe(0);
    const waitB = await local.reserveReboot(b.uuid, b.gen, gap);
    expect(waitB).toBeGreaterThan(gap - 1000);
    expect(waitB).toBeLessThanOrEqual(gap);
    const waitC = await local.reserveReboot(c.uuid, c.gen, gap);
    expect(waitC - waitB).toBeGreaterThan(gap - 1000);
    // Asking again keeps the place.
    const again = await local.reserveReboot(b.uuid, b.gen, gap);
    expect(again).toBeLessThanOrEqual(waitB);
    expect(again).toBeGreaterThan(waitB - 1000);
    // a had its turn: a retry of its boot goes at once, without queueing behind c.
    expect(await local.reserveReboot(a.uuid, a.gen, gap)).toBe(0);
    // b ends before its turn: c, next to find it at the head, takes its place.
    await local.transition(b.uuid, b.gen, 'error', { error: 'aborted' });
    const moved = await local.reserveReboot(c.uuid, c.gen, gap);
    expect(moved).toBeLessThanOrEqual(gap);
    expect(await redis.zcard(local.keys.rebootLine)).toBe(1);
    await dropPrefix(redis, local.keys.index.replace(':nodes', ''));
  });

  it('keeps runs that join the reboot line in the same millisecond in their order of arrival', async () => {
    const local = ownStore();
    const waits: number[] = [];
    for (let i = 0; i < 30; i++) {
      const uuid = randomUUID();
      const { gen } = await local.start({ uuid, bmc: [], macs: [], manageBoot: true, reqId: '' });
      waits.push(await local.reserveReboot(uuid, gen, 10_000));
    }
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThan(waits[i - 1]!);
    await dropPrefix(redis, local.keys.index.replace(':nodes', ''));
  });
});
