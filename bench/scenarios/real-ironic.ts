/**
 * Against a real Ironic: fake-hardware nodes, created and made `manageable`
 * through Ironic's API, introspected end to end. Ironic's fake power driver
 * runs nothing on power-on, so the bench plays the ramdisk: once the service
 * has a node `waiting` and Ironic reports it powered on, it posts the node's
 * data. The service is profiled, and its Ironic calls are timed by its own
 * metrics (the Ironic client's onCall hook).
 */
import path from 'node:path';
import { nodeSpec, type NodeSpec } from '../../test/fixtures/fake-ironic.ts';
import { buildRamdiskData } from '../../test/fixtures/ramdisk-sim.ts';
import { describeCalls, scrapeIronicCalls, type CallStats } from '../lib/metrics.ts';
import { procCpuSeconds } from '../lib/processes.ts';
import { profilerClockUs } from '../lib/profile.ts';
import {
  createManageableNodes,
  listNodes,
  realIronicMissing,
  startRealIronic,
  type RealIronic,
} from '../lib/real-ironic.ts';
import { readRuns, request, startRuns, verifyFinished, waitAllDone } from '../lib/runs.ts';
import { startStack, type Stack } from '../lib/stack.ts';
import { round, summarize } from '../lib/stats.ts';
import { problemNotes, profileNotes, stackProfiles } from './common.ts';
import { skipped, type Scenario, type ScenarioResult } from './types.ts';

/** ironic-inspector 11.1 against the same Ironic, as measured for the issue. */
export const REFERENCE_NODES_PER_SECOND = 1.5;
const WORKERS = 1;
/** Ironic is the bottleneck here: the player asks it as seldom as it can. */
const POLL_MS = 500;

interface Timeline {
  answered?: number;
  waiting?: number;
  poweredOn?: number;
  posted?: number;
  postStatus?: number;
}

/**
 * The ramdisks: polls the service's state in Redis (cheap) and, while some
 * node waits, Ironic's node list (one call); posts each node's data once it
 * is both waiting and powered on.
 */
function playRamdisks(
  stack: Stack,
  ironic: RealIronic,
  specs: readonly NodeSpec[],
  timeline: Map<string, Timeline>,
) {
  const pending = new Map(specs.map((s) => [s.uuid, s]));
  const posts: Promise<void>[] = [];
  let stopped = false;
  let ironicPolls = 0;
  let ironicPollMs = 0;
  const ironicPollFailures: string[] = [];
  const loop = (async () => {
    while (!stopped && pending.size) {
      const runs = await readRuns(stack.redis.client, stack.keys, [...pending.keys()]);
      const now = Date.now();
      const waiting = runs.filter((r) => r.state === 'waiting');
      for (const r of runs) if (r.state === 'error') pending.delete(r.uuid);
      for (const r of waiting) timeline.get(r.uuid)!.waiting ??= now;
      if (waiting.length) {
        ironicPolls++;
        const t = performance.now();
        // Ironic (one process on sqlite) has been seen to stop answering for a minute under
        // this load; the ramdisks wait it out and look again, as a run through it would.
        const nodes = await listNodes(ironic).catch((err: Error) => {
          ironicPollFailures.push(err.message);
          return new Map<string, never>();
        });
        ironicPollMs += performance.now() - t;
        for (const r of waiting) {
          const node = nodes.get(r.uuid);
          if (node?.power_state !== 'power on' || node.target_power_state) continue;
          const t = timeline.get(r.uuid)!;
          t.poweredOn = Date.now();
          const spec = pending.get(r.uuid)!;
          pending.delete(r.uuid);
          posts.push(
            request(`${stack.url}/v1/continue`, {
              method: 'POST',
              body: JSON.stringify(buildRamdiskData(spec)),
            }).then((reply) => {
              t.posted = Date.now();
              t.postStatus = reply.status;
            }),
          );
        }
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  return {
    get ironicPolls() {
      return ironicPolls;
    },
    get ironicPollMs() {
      return ironicPollMs;
    },
    get ironicPollFailures() {
      return ironicPollFailures;
    },
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(posts);
    },
  };
}

function phase(values: (number | undefined)[]): string {
  const s = summarize(values.filter((v): v is number => v !== undefined && Number.isFinite(v)));
  return s.count
    ? `median ${round(s.p50 / 1000, 2)} s, p90 ${round(s.p90 / 1000, 2)} s`
    : 'not seen';
}

export const realIronic: Scenario = {
  name: 'real-ironic',
  summary: '50 fake-hardware nodes end to end against a real Ironic: nodes/s, where the time goes',
  optIn: true,
  async run(ctx): Promise<ScenarioResult> {
    const missing = realIronicMissing();
    if (missing) return skipped(missing);
    const n = ctx.opts.realIronicNodes;
    const specs = Array.from({ length: n }, (_, i) => nodeSpec(i));
    const uuids = specs.map((s) => s.uuid);

    ctx.log('starting Ironic (about 15 s)');
    // Ironic only calls the inspector URL from its own inspect interface, which these nodes do not use.
    const ironic = await startRealIronic('http://127.0.0.1:5050');
    let stack: Stack | null = null;
    try {
      ctx.log(`creating ${n} fake-hardware nodes with two ports each`);
      await createManageableNodes(ironic, specs, ctx.log);
      stack = await startStack({
        dir: path.join(ctx.dir, 'stack'),
        workers: WORKERS,
        ironicUrl: ironic.url,
        env: ctx.opts.env,
        profile: true,
      });
      const timeline = new Map(uuids.map((u) => [u, {} as Timeline]));
      const cpuBefore = { ...(await stack.cpu()), ironic: await procCpuSeconds(ironic.pid) };
      const from = profilerClockUs();
      const player = playRamdisks(stack, ironic, specs, timeline);
      ctx.log(`introspecting ${n} nodes`);
      const start = await startRuns(stack.url, uuids, { concurrency: 100, manageBoot: true });
      start.answeredAt.forEach((at, i) => (timeline.get(uuids[i]!)!.answered = at));
      const done = await waitAllDone(stack.redis.client, stack.keys, {
        timeoutMs: Math.max(300_000, n * 10_000),
        log: ctx.log,
        label: 'real Ironic',
      });
      await player.stop();
      const to = profilerClockUs();
      const cpuAfter = { ...(await stack.cpu()), ironic: await procCpuSeconds(ironic.pid) };
      const runs = await readRuns(stack.redis.client, stack.keys, uuids);
      const verdict = await verifyFinished(stack.url, uuids);
      const calls = await scrapeIronicCalls(stack.metricsUrls);
      const problems = problemNotes('real Ironic', stack);
      await stack.stop();
      const profiles = await stackProfiles(stack, [from, to]);

      const last = Math.max(...runs.map((r) => r.finishedAt ?? NaN).filter(Number.isFinite));
      const seconds = (last - start.t0) / 1000;
      const rate = seconds > 0 ? n / seconds : null;
      const refusedPosts = [...timeline.values()].filter(
        (t) => t.postStatus !== undefined && t.postStatus !== 200,
      );
      const errors = [
        ...(start.failures.length
          ? [
              `${start.failures.length} starts not accepted, e.g. ${JSON.stringify(start.failures[0])}`,
            ]
          : []),
        ...(refusedPosts.length ? [`${refusedPosts.length} ramdisk posts refused`] : []),
        ...(done ? [] : ['timed out waiting for every run to finish']),
        ...verdict.problems,
      ];
      const valid = errors.length === 0;
      const cpu = Object.fromEntries(
        Object.entries(cpuAfter).map(([k, v]) => [
          k,
          round(v - ((cpuBefore as Record<string, number>)[k] ?? 0), 2),
        ]),
      );
      const finishedOf = new Map(runs.map((r) => [r.uuid, r.finishedAt ?? undefined]));
      const tl = uuids.map((u) => ({ ...timeline.get(u)!, finished: finishedOf.get(u) }));
      const gap = (a: keyof Timeline | 'finished', b: keyof Timeline | 'finished') =>
        tl.map((t) =>
          t[b] !== undefined && t[a] !== undefined ? Number(t[b]) - Number(t[a]) : undefined,
        );
      const callNotes = Object.entries(calls).flatMap(([proc, stats]) =>
        stats
          ? describeCalls(proc, stats, n)
          : [`${proc}: no ${'inspector_ironic_request_duration_seconds'} on /metrics`],
      );
      const ironicCallSeconds = Object.values(calls)
        .flatMap((s: CallStats[] | null) => s ?? [])
        .reduce((a, s) => a + s.seconds, 0);
      return {
        status: valid ? 'ok' : 'invalid',
        ...(valid ? {} : { reason: errors.join('; ') }),
        // Ironic runs detached (setsid): its CPU since it started is not the bench's children's.
        detachedCpuSeconds: cpuAfter.ironic,
        figures: [
          {
            label: `${n} nodes, ${WORKERS} worker: nodes/s (reference inspector 11.1: ${REFERENCE_NODES_PER_SECOND})`,
            value: rate === null ? null : round(rate, 2),
            unit: 'nodes/s',
            valid,
            target: { op: '>=', value: REFERENCE_NODES_PER_SECOND },
          },
          { label: 'time to the last finished node', value: round(seconds, 2), unit: 's', valid },
        ],
        notes: [
          `phases per node: POST answered ${phase(start.latenciesMs)}; answered -> waiting (worker: set PXE ` +
            `boot) ${phase(gap('answered', 'waiting'))}; waiting -> powered on (reboot, Ironic's power ` +
            `action, seen within ${POLL_MS} ms) ${phase(gap('waiting', 'poweredOn'))}; powered on -> callback ` +
            `answered ${phase(gap('poweredOn', 'posted'))}; callback -> finished (process: get node, ports, ` +
            `patch, power off and confirm) ${phase(gap('posted', 'finished'))}`,
          `CPU seconds over the run: ${Object.entries(cpu)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')} ` + `(wall ${round(seconds, 1)} s; Ironic is one Python process)`,
          `Ironic calls timed by the service (onCall hook -> inspector_ironic_request_duration_seconds), ` +
            `${round(ironicCallSeconds, 1)} s in all:`,
          ...callNotes.map((l) => `  ${l}`),
          `the bench's ramdisk player listed Ironic's nodes ${player.ironicPolls} times to see power-ons ` +
            `(${round(player.ironicPollMs / 1000, 1)} s of answers): load on Ironic the service did not cause`,
          ...(player.ironicPollFailures.length
            ? [
                `Ironic left ${player.ironicPollFailures.length} of those lists unanswered (` +
                  `${player.ironicPollFailures[0]}): it stalled, and the run with it`,
              ]
            : []),
          ...(valid ? [] : [`INVALID: ${errors.join('; ')}`]),
          ...problems,
          ...profileNotes('real Ironic', profiles),
        ],
        details: {
          nodes: n,
          workers: WORKERS,
          seconds,
          nodesPerSecond: rate,
          errors,
          byState: verdict.byState,
          cpuSeconds: cpu,
          ironicCalls: calls,
          timeline: tl.map((t, i) => ({ uuid: uuids[i], ...t })),
          startedAt: start.t0,
          profiles,
        },
      };
    } catch (err) {
      await stack?.stop().catch(() => undefined);
      throw err;
    } finally {
      await ironic.stop().catch(() => undefined);
    }
  },
};
