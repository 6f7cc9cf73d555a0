/**
 * Status reads: `GET /v1/introspection/<uuid>` over many nodes at a fixed
 * concurrency with autocannon, against the API process.
 */
import path from 'node:path';
import autocannon from 'autocannon';
import { nodeSpec } from '../../test/fixtures/fake-ironic.ts';
import { bareHttpBaseline } from '../lib/baseline.ts';
import { profilerClockUs } from '../lib/profile.ts';
import { seedWaiting } from '../lib/runs.ts';
import { startStack } from '../lib/stack.ts';
import { MiB, round, tally } from '../lib/stats.ts';
import { problemNotes, profileNotes, stackProfiles } from './common.ts';
import type { Scenario, ScenarioResult } from './types.ts';

/** Nodes whose status is read, in turn. */
const NODES = 1000;
/** Length of the bare node:http run that gives the machine's ceiling. */
const BASELINE_SECONDS = 3;
export const READS_TARGET = { perSecond: 10_000, p99Ms: 20 };

export const statusReads: Scenario = {
  name: 'status-reads',
  summary: 'GET /v1/introspection/<uuid> at concurrency 64 with autocannon: req/s, p50/p99',
  async run(ctx): Promise<ScenarioResult> {
    const { readsSeconds: seconds, readsConnections: connections } = ctx.opts;
    const stack = await startStack({
      dir: path.join(ctx.dir, 'stack'),
      workers: 1,
      fakeIronic: { nodes: NODES, callback: false },
      env: ctx.opts.env,
      profile: ctx.opts.profile,
      workerNice: ctx.opts.workerNice,
    });
    try {
      const uuids = Array.from({ length: NODES }, (_, i) => nodeSpec(i).uuid);
      ctx.log(`seeding ${NODES} waiting runs`);
      await seedWaiting(stack.url, stack.redis.client, stack.keys, uuids, {
        log: ctx.log,
        label: 'seed',
      });
      ctx.log(`reading for ${seconds} s at concurrency ${connections}`);
      let next = 0;
      const statuses: number[] = [];
      const cpuBefore = await stack.cpu();
      const from = profilerClockUs();
      const result = await autocannon({
        url: stack.url,
        connections,
        duration: seconds,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => ({ ...req, path: `/v1/introspection/${uuids[next++ % NODES]}` }),
            onResponse: (status) => {
              if (status !== 200) statuses.push(status);
            },
          },
        ],
      });
      const to = profilerClockUs();
      const cpuAfter = await stack.cpu();
      const mem = await stack.memory();
      const problems = problemNotes('status reads', stack);
      await stack.stop();
      const profiles = await stackProfiles(stack, [from, to]);
      ctx.log('the same load against a bare node:http process, for the machine ceiling');
      const baseline = await bareHttpBaseline(ctx.dir, connections, BASELINE_SECONDS);

      const total = result.requests.total;
      const errors = [
        ...(result.non2xx
          ? [`${result.non2xx} answers not 2xx: ${JSON.stringify(tally(statuses.map(String)))}`]
          : []),
        ...(result.errors
          ? [`${result.errors} connection errors (${result.timeouts} timeouts)`]
          : []),
      ];
      const valid = errors.length === 0 && total > 0;
      const apiCpu = round((cpuAfter.api ?? 0) - (cpuBefore.api ?? 0), 2);
      return {
        status: valid ? 'ok' : 'invalid',
        ...(valid ? {} : { reason: errors.join('; ') || 'no requests completed' }),
        figures: [
          {
            label: 'requests/s',
            value: round(result.requests.average, 0),
            unit: 'req/s',
            valid,
            target: { op: '>=', value: READS_TARGET.perSecond },
          },
          { label: 'latency p50', value: result.latency.p50, unit: 'ms', valid },
          {
            label: 'latency p99',
            value: result.latency.p99,
            unit: 'ms',
            valid,
            target: { op: '<', value: READS_TARGET.p99Ms },
          },
          {
            label: 'machine ceiling: bare node:http process, requests/s',
            value: baseline.requestsPerSecond,
            unit: 'req/s',
          },
        ],
        notes: [
          `${total} reads in ${result.duration} s over ${connections} connections, ${NODES} distinct nodes; ` +
            `API used ${apiCpu} CPU s (${Math.round((100 * apiCpu) / result.duration)}% of a core), ` +
            `${Math.round((1e6 * apiCpu) / Math.max(1, total))} µs per read, peak RSS ` +
            `${round(mem.api.peakRss / MiB, 1)} MiB; autocannon runs in the bench process on the same cores`,
          `machine ceiling: a bare node:http process answering a status-sized body did ` +
            `${baseline.requestsPerSecond} req/s (p50 ${baseline.p50} ms, p99 ${baseline.p99} ms) under the same load`,
          ...problems,
          ...profileNotes('status reads', profiles),
        ],
        details: {
          nodes: NODES,
          connections,
          seconds: result.duration,
          requests: result.requests,
          latency: result.latency,
          non2xx: result.non2xx,
          errors: result.errors,
          apiCpuSeconds: apiCpu,
          apiPeakRssMiB: round(mem.api.peakRss / MiB, 1),
          baseline,
          profiles,
        },
      };
    } catch (err) {
      await stack.stop().catch(() => undefined);
      throw err;
    }
  },
};
