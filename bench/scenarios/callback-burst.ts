/**
 * Callback burst: thousands of nodes already waiting (started without boot),
 * then every ramdisk posts its data at once, at a fixed concurrency.
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { nodeSpec } from '../../test/fixtures/fake-ironic.ts';
import { buildRamdiskData } from '../../test/fixtures/ramdisk-sim.ts';
import { cpuSnapshot, othersShare } from '../lib/machine-load.ts';
import { selfCpuSeconds } from '../lib/processes.ts';
import { profilerClockUs } from '../lib/profile.ts';
import { pool, readRuns, seedWaiting, verifyFinished, waitAllDone } from '../lib/runs.ts';
import { startStack } from '../lib/stack.ts';
import { percentile, round, tally } from '../lib/stats.ts';
import { memoryDetails, problemNotes, profileNotes, rssFigures, stackProfiles } from './common.ts';
import type { Scenario, ScenarioResult } from './types.ts';

export const BURST_TARGET = { p99Ms: 100 };
const WORKERS = 2;

interface BurstLoad {
  latency: { p50: number; p97_5: number; p99: number; max: number };
  /** Connections that failed or timed out. */
  errors: number;
  timeouts: number;
}

type OnAnswer = (status: number, body: string) => void;

/** Keep-alive connections, each posting callback after callback: autocannon. */
async function keepAliveLoad(
  url: string,
  bodies: string[],
  connections: number,
  onAnswer: OnAnswer,
): Promise<BurstLoad> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    amount: bodies.length,
    timeout: 60,
    requests: [
      {
        method: 'POST',
        path: '/v1/continue',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }),
        onResponse: onAnswer,
      },
    ],
  });
  return { latency: result.latency, errors: result.errors, timeouts: result.timeouts };
}

/**
 * Each callback on a connection of its own, as ramdisks post: every callback
 * waits for the API to accept a connection (one per turn of Node's event loop).
 */
async function newConnectionLoad(
  url: string,
  bodies: string[],
  concurrency: number,
  onAnswer: OnAnswer,
): Promise<BurstLoad> {
  let errors = 0;
  let timeouts = 0;
  const target = new URL('/v1/continue', url);
  const latencies = await pool(bodies, concurrency, async (body) => {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      const req = http.request(
        target,
        {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            'content-length': Buffer.byteLength(body),
          },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            onAnswer(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
        },
      );
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timed out'));
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
    return performance.now() - t;
  });
  const sorted = latencies.sort((a, b) => a - b);
  const at = (p: number) => Math.round(percentile(sorted, p));
  return {
    latency: { p50: at(50), p97_5: at(97.5), p99: at(99), max: at(100) },
    errors,
    timeouts,
  };
}

export const callbackBurst: Scenario = {
  name: 'callback-burst',
  summary: '5000 POST /v1/continue at concurrency 200 for waiting nodes: p50/p99, nothing lost',
  async run(ctx): Promise<ScenarioResult> {
    const { burstNodes: n, burstConcurrency: connections } = ctx.opts;
    const stack = await startStack({
      dir: path.join(ctx.dir, 'stack'),
      workers: WORKERS,
      fakeIronic: { nodes: n, callback: false },
      env: ctx.opts.env,
      profile: ctx.opts.profile,
      workerNice: ctx.opts.workerNice,
    });
    try {
      const specs = Array.from({ length: n }, (_, i) => nodeSpec(i));
      const uuids = specs.map((s) => s.uuid);
      ctx.log(`seeding ${n} waiting runs`);
      await seedWaiting(stack.url, stack.redis.client, stack.keys, uuids, {
        log: ctx.log,
        label: 'seed',
      });
      const bodies = specs.map((s) => JSON.stringify(buildRamdiskData(s)));

      ctx.log(`${n} callbacks at concurrency ${connections}`);
      const accepted = new Map<string, number>();
      const refused: string[] = [];
      const cpuBefore: Record<string, number> = {
        ...(await stack.cpu()),
        bench: selfCpuSeconds(),
      };
      const machineBefore = await cpuSnapshot();
      const burstStart = Date.now();
      const from = profilerClockUs();
      const onAnswer: OnAnswer = (status, body) => {
        if (status === 200) {
          const uuid = (JSON.parse(body) as { uuid: string }).uuid;
          accepted.set(uuid, (accepted.get(uuid) ?? 0) + 1);
        } else {
          refused.push(`${status} ${body.slice(0, 200)}`);
        }
      };
      const result = ctx.opts.burstNewConnections
        ? await newConnectionLoad(stack.url, bodies, connections, onAnswer)
        : await keepAliveLoad(stack.url, bodies, connections, onAnswer);
      const burstEnd = Date.now();
      const cpuAtBurstEnd: Record<string, number> = {
        ...(await stack.cpu()),
        bench: selfCpuSeconds(),
      };
      const machineAtBurstEnd = await cpuSnapshot();
      const done = await waitAllDone(stack.redis.client, stack.keys, {
        timeoutMs: Math.max(120_000, n * 60),
        log: ctx.log,
        label: 'processing',
      });
      const to = profilerClockUs();
      const cpuAfter = await stack.cpu();
      const workerCpu = (c: Record<string, number>) =>
        Object.entries(c)
          .filter(([k]) => k.startsWith('worker'))
          .reduce((a, [, v]) => a + v, 0);
      const apiMsPerCallback = (1000 * (cpuAtBurstEnd.api! - cpuBefore.api!)) / n;
      const workerMsPerNode = (1000 * (workerCpu(cpuAfter) - workerCpu(cpuBefore))) / n;
      const burstSeconds = (burstEnd - burstStart) / 1000;
      // Cores each process kept busy during the burst; 'others' is the rest of the machine.
      const coresDuringBurst: Record<string, number> = Object.fromEntries(
        Object.entries(cpuAtBurstEnd).map(([k, v]) => [
          k,
          round((v - cpuBefore[k]!) / burstSeconds, 2),
        ]),
      );
      coresDuringBurst.others = round(
        othersShare(
          machineBefore,
          machineAtBurstEnd,
          Object.values(cpuAtBurstEnd).reduce((a, b) => a + b, 0) -
            Object.values(cpuBefore).reduce((a, b) => a + b, 0) -
            (cpuAtBurstEnd.bench! - cpuBefore.bench!),
        ) * os.availableParallelism(),
        2,
      );
      const runs = await readRuns(stack.redis.client, stack.keys, uuids);
      const verdict = await verifyFinished(stack.url, uuids);
      const mem = await stack.memory();
      const problems = problemNotes('burst', stack);
      await stack.stop();
      const profiles = await stackProfiles(stack, [from, to]);

      const lastFinished = Math.max(...runs.map((r) => r.finishedAt ?? 0));
      const processedAll = (lastFinished - burstStart) / 1000;
      const missing = uuids.filter((u) => !accepted.has(u));
      const twice = [...accepted].filter(([, c]) => c > 1);
      const errors = [
        ...(refused.length
          ? [`${refused.length} callbacks refused: ${JSON.stringify(tally(refused).slice(0, 3))}`]
          : []),
        ...(result.errors
          ? [`${result.errors} connection errors (${result.timeouts} timeouts)`]
          : []),
        ...(missing.length ? [`${missing.length} nodes never got a 200, e.g. ${missing[0]}`] : []),
        ...(twice.length ? [`${twice.length} nodes were posted more than once`] : []),
        ...(done ? [] : ['timed out waiting for every node to be processed']),
        ...verdict.problems,
      ];
      const valid = errors.length === 0;
      const processed = verdict.byState.finished ?? 0;
      return {
        status: valid ? 'ok' : 'invalid',
        ...(valid ? {} : { reason: errors.join('; ') }),
        figures: [
          { label: 'latency p50', value: result.latency.p50, unit: 'ms', valid },
          {
            label: 'latency p99',
            value: result.latency.p99,
            unit: 'ms',
            valid,
            target: { op: '<', value: BURST_TARGET.p99Ms },
          },
          {
            label: 'callbacks/s',
            value: round(n / ((burstEnd - burstStart) / 1000), 0),
            unit: 'req/s',
            valid,
          },
          { label: `callbacks accepted (of ${n})`, value: accepted.size, unit: '', valid },
          { label: `nodes processed (of ${n})`, value: processed, unit: '', valid },
          {
            label: `time to process all (${WORKERS} workers)`,
            value: round(processedAll, 2),
            unit: 's',
            valid,
          },
          ...rssFigures('burst', mem),
        ],
        notes: [
          `API CPU per callback ${round(apiMsPerCallback, 2)} ms; worker CPU per processed node ` +
            `${round(workerMsPerNode, 2)} ms; cores busy during the burst (of ${os.availableParallelism()}): ` +
            `${Object.entries(coresDuringBurst)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}. With ${connections} ` +
            `callbacks always in flight, latency = ${connections} / callbacks per second: p99 under ` +
            `${BURST_TARGET.p99Ms} ms needs over ${Math.round((connections * 1000) / BURST_TARGET.p99Ms)} callbacks/s`,
          `${n} nodes started with manage_boot=false, then ${n} ramdisk posts (${Math.round(
            bodies.reduce((a, b) => a + b.length, 0) / n,
          )} B each) ${
            ctx.opts.burstNewConnections
              ? `${connections} at a time, each on a new connection (as ramdisks post),`
              : `over ${connections} keep-alive connections`
          } in ${round((burstEnd - burstStart) / 1000, 2)} s; ` +
            `${WORKERS} workers${ctx.opts.workerNice ? ` (nice ${ctx.opts.workerNice})` : ''} processed them meanwhile; latency p97.5 ${result.latency.p97_5} ms, max ${result.latency.max} ms`,
          ...(valid ? [] : [`INVALID: ${errors.join('; ')}`]),
          ...problems,
          ...profileNotes('burst', profiles),
        ],
        details: {
          nodes: n,
          connections,
          newConnections: ctx.opts.burstNewConnections,
          workers: WORKERS,
          burstSeconds: (burstEnd - burstStart) / 1000,
          apiMsPerCallback,
          workerMsPerNode,
          coresDuringBurst,
          latency: result.latency,
          processedAllSeconds: processedAll,
          byState: verdict.byState,
          errors,
          memory: memoryDetails(mem),
          profiles,
        },
      };
    } catch (err) {
      await stack.stop().catch(() => undefined);
      throw err;
    }
  },
};
