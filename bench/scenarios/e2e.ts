/**
 * End to end: N nodes from `POST /v1/introspection` through the ramdisk's
 * callback to `finished`, against the fake Ironic as its own process (it
 * PXE-boots each node and posts its ramdisk data), with 1, 2 and 4 workers.
 */
import os from 'node:os';
import path from 'node:path';
import { nodeSpec } from '../../test/fixtures/fake-ironic.ts';
import { selfCpuSeconds } from '../lib/processes.ts';
import { profilerClockUs } from '../lib/profile.ts';
import { commandCalls } from '../lib/redis-server.ts';
import { readRuns, startRuns, verifyFinished, waitAllDone } from '../lib/runs.ts';
import { startStack } from '../lib/stack.ts';
import { round, summarize } from '../lib/stats.ts';
import {
  memoryDetails,
  plural,
  problemNotes,
  profileNotes,
  rssFigures,
  stackProfiles,
} from './common.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from './types.ts';

const cores = () => os.availableParallelism();

/** Runs before the measured ones, so the figures are those of a service whose code is compiled. */
const WARMUP = 100;

/** Requests a client keeps in flight while starting runs. */
const START_CONCURRENCY = 100;

/**
 * `n` rules that apply to every node: a condition on the processed data each, and an attribute
 * expanded from it, so that a processing evaluates them all and sends Ironic one more update.
 */
async function createRules(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/v1/rules`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        description: `bench rule ${i}`,
        conditions: [{ op: 'ge', field: 'memory_mb', value: 1 }],
        actions: [
          { action: 'set-attribute', path: `/extra/bench_${i}`, value: '{data[cpu_arch]}' },
        ],
      }),
    });
    if (res.status !== 201)
      throw new Error(`rule ${i} not created: ${res.status} ${await res.text()}`);
  }
}
export const E2E_TARGET = { workers: 2, nodesPerSecond: 500 };

async function runOnce(ctx: ScenarioContext, workers: number) {
  const n = ctx.opts.nodes;
  const label = `${plural(workers, 'worker')}${ctx.opts.rules ? `, ${plural(ctx.opts.rules, 'rule')}` : ''}`;
  const stack = await startStack({
    dir: path.join(ctx.dir, `workers-${workers}`),
    workers,
    fakeIronic: { nodes: n + WARMUP, callback: true },
    env: ctx.opts.env,
    profile: ctx.opts.profile,
    workerNice: ctx.opts.workerNice,
  });
  try {
    await createRules(stack.url, ctx.opts.rules);
    const uuids = Array.from({ length: n }, (_, i) => nodeSpec(i).uuid);
    ctx.log(`${label}: warming up with ${WARMUP} runs`);
    const warm = Array.from({ length: WARMUP }, (_, i) => nodeSpec(n + i).uuid);
    const warmStart = await startRuns(stack.url, warm, {
      concurrency: START_CONCURRENCY,
      manageBoot: true,
    });
    const warmDone = await waitAllDone(stack.redis.client, stack.keys, {
      timeoutMs: 120_000,
      log: ctx.log,
      label: `${label} warm-up`,
    });
    if (warmStart.failures.length || !warmDone) {
      throw new Error(
        `${label}: the warm-up runs did not finish, see the logs in ${stack.services[0]!.logFile}`,
      );
    }
    stack.clearProblems();
    ctx.log(`${label}: starting ${n} runs`);
    const cpuBefore: Record<string, number> = { ...(await stack.cpu()), bench: selfCpuSeconds() };
    const redisBefore = await commandCalls(stack.redis.client);
    const from = profilerClockUs();
    const start = await startRuns(stack.url, uuids, {
      concurrency: START_CONCURRENCY,
      manageBoot: true,
    });
    const done = await waitAllDone(stack.redis.client, stack.keys, {
      timeoutMs: Math.max(120_000, n * 200),
      log: ctx.log,
      label,
    });
    const cpuAfter = { ...(await stack.cpu()), bench: selfCpuSeconds() };
    const redisAfter = await commandCalls(stack.redis.client);
    const to = profilerClockUs();
    const runs = await readRuns(stack.redis.client, stack.keys, uuids);
    const verdict = await verifyFinished(stack.url, uuids);
    const mem = await stack.memory();
    const problems = problemNotes(label, stack);
    await stack.stop();
    const profiles = await stackProfiles(stack, [from, to]);

    const finishedAt = runs.map((r) => r.finishedAt ?? NaN).filter(Number.isFinite);
    const last = finishedAt.length ? Math.max(...finishedAt) : NaN;
    const seconds = (last - start.t0) / 1000;
    const errors = [
      ...(start.failures.length
        ? [
            `${start.failures.length} starts not accepted, e.g. ${JSON.stringify(start.failures[0])}`,
          ]
        : []),
      ...(done ? [] : ['timed out waiting for every run to finish']),
      ...verdict.problems,
    ];
    const cpu = Object.fromEntries(
      Object.entries(cpuAfter).map(([k, v]) => [k, round(v - (cpuBefore[k] ?? 0), 2)]),
    );
    const redisCalls = Object.fromEntries(
      Object.entries(redisAfter).map(([k, v]) => [k, v - (redisBefore[k] ?? 0)]),
    );
    return {
      workers,
      label,
      seconds,
      errors,
      start,
      verdict,
      mem,
      problems,
      profiles,
      cpu,
      redisCalls,
    };
  } catch (err) {
    await stack.stop().catch(() => undefined);
    throw err;
  }
}

export const e2e: Scenario = {
  name: 'e2e',
  summary:
    'N nodes end to end with 1, 2 and 4 worker processes: nodes/s, time to the last finished',
  async run(ctx): Promise<ScenarioResult> {
    const figures: Figure[] = [];
    const notes: string[] = [];
    const details: Record<string, unknown> = {
      nodes: ctx.opts.nodes,
      rules: ctx.opts.rules,
      warmupNodes: WARMUP,
      startConcurrency: START_CONCURRENCY,
    };
    let invalid = false;
    for (const workers of ctx.opts.workers) {
      const r = await runOnce(ctx, workers);
      const valid = r.errors.length === 0;
      invalid ||= !valid;
      const rate = r.seconds > 0 ? ctx.opts.nodes / r.seconds : null;
      const perNode = (names: string[]) =>
        names.reduce((a, k) => a + (r.cpu[k] ?? 0), 0) * (1000 / ctx.opts.nodes);
      const cpuMsPerNode = perNode(Object.keys(r.cpu));
      const serviceMsPerNode = perNode(
        Object.keys(r.cpu).filter((k) => k === 'api' || k === 'redis' || k.startsWith('worker')),
      );
      figures.push(
        {
          label: `${r.label}: nodes/s`,
          value: rate === null ? null : round(rate, 1),
          unit: 'nodes/s',
          valid,
          ...(workers === E2E_TARGET.workers && !ctx.opts.rules
            ? { target: { op: '>=' as const, value: E2E_TARGET.nodesPerSecond } }
            : {}),
        },
        {
          label: `${r.label}: time to the last finished node`,
          value: Number.isFinite(r.seconds) ? round(r.seconds, 2) : null,
          unit: 's',
          valid,
        },
        // Steadier than nodes/s on a shared machine: the measure to compare a change by.
        {
          label: `${r.label}: CPU per node, the service (API, workers, Redis)`,
          value: round(serviceMsPerNode, 2),
          unit: 'ms',
          valid,
        },
        ...rssFigures(r.label, r.mem),
      );
      const startLatency = summarize(r.start.latenciesMs);
      notes.push(
        `${r.label}: ${ctx.opts.nodes} starts took ${round((r.start.t1 - r.start.t0) / 1000, 2)} s ` +
          `(POST p50 ${round(startLatency.p50)} ms, p99 ${round(startLatency.p99)} ms)`,
        `${r.label}: CPU ms per node: ${Object.entries(r.cpu)
          .map(([k, v]) => `${k} ${round((1000 * v) / ctx.opts.nodes, 2)}`)
          .join(', ')}; total ${round(cpuMsPerNode, 1)} ms, so ${cores()} cores cap this ` +
          `setup near ${Math.round((cores() * 1000) / cpuMsPerNode)} nodes/s; the service alone ` +
          `(API, workers, Redis) ${round(serviceMsPerNode, 1)} ms per node, ` +
          `${Math.round((cores() * 1000) / serviceMsPerNode)} nodes/s if it had the cores to itself`,
      );
      const redisPerNode = Object.entries(r.redisCalls)
        .map(([k, v]) => [k, v / ctx.opts.nodes] as const)
        .sort((a, b) => b[1] - a[1]);
      notes.push(
        `${r.label}: Redis commands per node: ${round(
          redisPerNode.reduce((a, [, v]) => a + v, 0),
          1,
        )} in all (the bench's own progress polls, ZCARD, included); ` +
          redisPerNode
            .slice(0, 8)
            .map(([k, v]) => `${k} ${round(v, 1)}`)
            .join(', '),
      );
      if (!valid) notes.push(`${r.label}: INVALID, errors: ${r.errors.join('; ')}`);
      notes.push(...r.problems, ...profileNotes(r.label, r.profiles));
      details[`workers-${workers}`] = {
        seconds: r.seconds,
        nodesPerSecond: rate,
        errors: r.errors,
        byState: r.verdict.byState,
        startLatencyMs: startLatency,
        cpuSeconds: r.cpu,
        redisCalls: r.redisCalls,
        cpuMsPerNode,
        serviceMsPerNode,
        memory: memoryDetails(r.mem),
        problems: r.problems,
        profiles: r.profiles,
      };
    }
    return {
      status: invalid ? 'invalid' : 'ok',
      ...(invalid ? { reason: 'some runs did not finish cleanly' } : {}),
      figures,
      notes,
      details,
    };
  },
};
