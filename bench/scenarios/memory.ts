/**
 * Memory: Redis bytes per node kept (status plus lookup index, without the
 * stored data), while nodes wait and once they have finished, and the peak
 * RSS of the API and each worker over the same runs.
 */
import path from 'node:path';
import type { Redis } from 'ioredis';
import { nodeSpec } from '../../test/fixtures/fake-ironic.ts';
import { buildRamdiskData } from '../../test/fixtures/ramdisk-sim.ts';
import { pool, request, seedWaiting, verifyFinished, waitAllDone } from '../lib/runs.ts';
import { usedMemory } from '../lib/redis-server.ts';
import { startStack } from '../lib/stack.ts';
import { round } from '../lib/stats.ts';
import { memoryDetails, problemNotes, rssFigures } from './common.ts';
import type { Scenario, ScenarioResult } from './types.ts';

export const REDIS_TARGET_BYTES = 2048;
const WORKERS = 2;

type KeyClass = 'status' | 'lookup' | 'index' | 'data' | 'queue' | 'other';

/** Which family a key of the store (or BullMQ) belongs to. */
function classify(prefix: string, key: string): KeyClass {
  const rest = key.slice(prefix.length + 1);
  if (rest.startsWith('node:')) return 'status';
  if (rest.startsWith('lookup:')) return 'lookup';
  if (rest === 'nodes' || rest === 'active' || rest === 'gen') return 'index';
  if (/^(raw|processed|logs|secret):/.test(rest)) return 'data';
  if (/^(introspection|processing|timeouts|maintenance):/.test(rest)) return 'queue';
  return 'other';
}

/** `MEMORY USAGE key SAMPLES 0` (exact, every element counted) of every key, summed by family. */
async function bytesByClass(redis: Redis, prefix: string): Promise<Record<KeyClass, number>> {
  const totals: Record<KeyClass, number> = {
    status: 0,
    lookup: 0,
    index: 0,
    data: 0,
    queue: 0,
    other: 0,
  };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    const pipe = redis.pipeline();
    for (const key of keys) pipe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    const replies = (await pipe.exec()) ?? [];
    replies.forEach(([err, bytes], i) => {
      if (err) throw err;
      totals[classify(prefix, keys[i]!)] += Number(bytes ?? 0);
    });
  } while (cursor !== '0');
  return totals;
}

async function deleteMatching(redis: Redis, pattern: string, keep: (key: string) => boolean) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    const doomed = keys.filter((k) => !keep(k));
    if (doomed.length) await redis.unlink(...doomed);
  } while (cursor !== '0');
}

const perNode = (totals: Record<KeyClass, number>, n: number) =>
  Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, round(v / n, 0)])) as Record<
    KeyClass,
    number
  >;

export const memory: Scenario = {
  name: 'memory',
  summary:
    'Redis bytes per node (status + lookup index, no stored data); peak RSS of API and workers',
  async run(ctx): Promise<ScenarioResult> {
    const n = ctx.opts.nodes;
    const stack = await startStack({
      dir: path.join(ctx.dir, 'stack'),
      workers: WORKERS,
      fakeIronic: { nodes: n, callback: false },
      env: ctx.opts.env,
    });
    const redis = stack.redis.client;
    try {
      const specs = Array.from({ length: n }, (_, i) => nodeSpec(i));
      const uuids = specs.map((s) => s.uuid);
      ctx.log(`seeding ${n} waiting runs`);
      await seedWaiting(stack.url, redis, stack.keys, uuids, { log: ctx.log, label: 'seed' });
      const waiting = perNode(await bytesByClass(redis, stack.prefix), n);

      ctx.log(`posting ${n} callbacks`);
      const replies = await pool(specs, 50, (s) =>
        request(`${stack.url}/v1/continue`, {
          method: 'POST',
          body: JSON.stringify(buildRamdiskData(s)),
        }),
      );
      const refused = replies.filter((r) => r.status !== 200);
      const done = await waitAllDone(redis, stack.keys, {
        timeoutMs: Math.max(120_000, n * 60),
        log: ctx.log,
        label: 'processing',
      });
      const verdict = await verifyFinished(stack.url, uuids);
      const finished = perNode(await bytesByClass(redis, stack.prefix), n);
      const mem = await stack.memory();
      const problems = problemNotes('memory', stack);
      await Promise.all(stack.workers.map((w) => w.stop()));
      await stack.api.stop();

      // Cross-check by INFO: with only the bench's connection left, drop everything but the
      // status and index keys, read used_memory, drop those too, read it again.
      const keepStatus = (k: string) => {
        const c = classify(stack.prefix, k);
        return c === 'status' || c === 'index';
      };
      await deleteMatching(redis, `${stack.prefix}:*`, keepStatus);
      const withStatus = (await usedMemory(redis)).used;
      await deleteMatching(redis, `${stack.prefix}:*`, () => false);
      const empty = (await usedMemory(redis)).used;
      const infoPerFinished = round((withStatus - empty) / n, 0);
      await stack.stop();

      const errors = [
        ...(refused.length
          ? [`${refused.length} callbacks refused, e.g. ${JSON.stringify(refused[0])}`]
          : []),
        ...(done ? [] : ['timed out waiting for every node to be processed']),
        ...verdict.problems,
      ];
      const valid = errors.length === 0;
      const waitingKept = waiting.status + waiting.lookup + waiting.index;
      const finishedKept = finished.status + finished.lookup + finished.index;
      return {
        status: valid ? 'ok' : 'invalid',
        ...(valid ? {} : { reason: errors.join('; ') }),
        figures: [
          {
            label: 'Redis per waiting node: status + lookup index',
            value: waitingKept,
            unit: 'B',
            target: { op: '<', value: REDIS_TARGET_BYTES },
          },
          {
            label: 'Redis per finished node: status + index',
            value: finishedKept,
            unit: 'B',
            valid,
          },
          {
            label: 'Redis per finished node: queue jobs kept (BullMQ)',
            value: finished.queue,
            unit: 'B',
            valid,
          },
          ...rssFigures(`${n} nodes, ${WORKERS} workers`, mem),
        ],
        notes: [
          `method: MEMORY USAGE <key> SAMPLES 0 of every key under the prefix, summed by family and divided by ${n} nodes: ` +
            `status = the node hash, lookup = the BMC and MAC sets, index = the nodes/active sorted sets; ` +
            `data (raw/processed ramdisk data) and BullMQ's job keys are counted apart`,
          `waiting, per node: status ${waiting.status} B, lookup ${waiting.lookup} B, index ${waiting.index} B; ` +
            `BullMQ jobs ${waiting.queue} B (introspect job kept after completion, delayed timeout job)`,
          `finished, per node: status ${finished.status} B, lookup ${finished.lookup} B (dropped at the end of a run), ` +
            `index ${finished.index} B; data ${finished.data} B; BullMQ jobs ${finished.queue} B`,
          `cross-check by INFO used_memory (all other keys deleted, then the status keys too): ${infoPerFinished} B per finished node`,
          ...(valid ? [] : [`INVALID: ${errors.join('; ')}`]),
          ...problems,
        ],
        details: {
          nodes: n,
          workers: WORKERS,
          waitingPerNode: waiting,
          finishedPerNode: finished,
          infoUsedMemoryPerFinishedNode: infoPerFinished,
          memory: memoryDetails(mem),
          errors,
        },
      };
    } catch (err) {
      await stack.stop().catch(() => undefined);
      throw err;
    }
  },
};
