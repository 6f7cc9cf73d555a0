import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueName } from '@inspector/shared';
import { nodeSpec, startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { startProcessStack, type ProcessStack } from '../helpers/process-stack.ts';
import { waitUntil, type ServiceProcess } from '../helpers/processes.ts';
import { newRedis } from '../helpers/redis.ts';
import { api, finishedStatus } from '../helpers/stack.ts';

/**
 * Three worker processes share 200 nodes; one of them is killed with SIGKILL
 * while it is in the middle of processing nodes. BullMQ's stalled-job check
 * hands its jobs to the survivors, and the runs' generation guards plus
 * converging Ironic calls keep the retaken work from doing anything twice.
 */
const NODES = 200;
const WORKERS = 3;
let ironic: FakeIronic;
let workers: ServiceProcess[] = [];
let url: string;
let stack: ProcessStack;
const specs = Array.from({ length: NODES }, (_, i) => nodeSpec(i));

interface LogLine {
  msg?: string;
  node?: string;
}

/** The nodes a worker logged `msg` about, once per line. */
function nodesLogged(proc: ServiceProcess, msg: string): string[] {
  const nodes: string[] = [];
  for (const line of proc.output) {
    if (!line.includes(msg)) continue;
    try {
      const parsed = JSON.parse(line) as LogLine;
      if (parsed.msg === msg && parsed.node) nodes.push(parsed.node);
    } catch {
      // a line that is not pino's JSON (e.g. a Node warning) says nothing about nodes
    }
  }
  return nodes;
}

const FINISHED = 'introspection finished';

beforeAll(async () => {
  ironic = await startFakeIronic();
  // No ports in Ironic: every node's two ports are created by the workers, so a
  // duplicated creation would show in the call log.
  ironic.addNodes(NODES, 0, { macs: [] });
  // Slow node updates keep each process job in hand for a while, so the kill
  // lands while the victim holds jobs whose ports are created but whose node is not done.
  ironic.faults.add({ method: 'PATCH', path: /^\/v1\/nodes\/[^/]+$/, delayMs: 500 });
  ironic.faults.add({ method: 'POST', path: '/v1/ports', delayMs: 100 });
  stack = await startProcessStack(ironic, {
    workers: WORKERS,
    env: {
      ADD_PORTS: 'all',
      // Few jobs in hand per worker, so nodes finish steadily and the kill lands mid-run.
      WORKER_CONCURRENCY: '10',
      // Three workers on one machine: each serves its health and metrics on a port of its own.
      WORKER_HTTP_PORT: '0',
      // A dead worker's jobs are retaken within seconds rather than the default 45, yet a live
      // worker starved of CPU on a busy machine keeps its locks.
      WORKER_LOCK_DURATION_MS: '10000',
      WORKER_STALLED_INTERVAL_MS: '2000',
    },
  });
  ({ url, workers } = stack);
});

afterAll(async () => {
  await stack?.stop();
  await ironic?.close();
});

describe(`${WORKERS} worker processes, one killed with SIGKILL mid-run`, () => {
  it(`still finishes each of ${NODES} nodes exactly once, with no duplicated side effect`, async () => {
    const [victim, ...survivors] = workers as [ServiceProcess, ...ServiceProcess[]];
    let killedAt = Infinity;
    const starts = await Promise.all(
      specs.map((s) => api({ url }, 'POST', `/v1/introspection/${s.uuid}`)),
    );
    expect(starts.map((s) => s.status)).toEqual(specs.map(() => 202));

    const finishedCount = () => workers.flatMap((w) => nodesLogged(w, FINISHED)).length;
    await waitUntil('half the nodes finished', async () => finishedCount() >= NODES / 2, 90_000);
    // Killed as soon as its log shows process jobs in its hands: ports created, node not done.
    await waitUntil(
      'the victim to hold process jobs',
      async () => {
        const done = new Set(nodesLogged(victim, FINISHED));
        if (nodesLogged(victim, 'port created').every((n) => done.has(n))) return false;
        killedAt = Date.now();
        victim.child.kill('SIGKILL');
        return true;
      },
      30_000,
      10,
    );
    expect(await victim.stop()).toBeNull();

    const finals = await Promise.all(
      specs.map((s) => finishedStatus({ url }, s.uuid, 90_000, 250)),
    );
    for (const [i, spec] of specs.entries()) {
      expect(finals[i]).toMatchObject({ uuid: spec.uuid, state: 'finished', error: null });
    }

    // No run reached `finished` twice, in one worker or another.
    const finishes = workers.flatMap((w) => nodesLogged(w, FINISHED));
    expect(finishes.filter((n, i) => finishes.indexOf(n) !== i)).toEqual([]);
    // The victim's whole output, now drained: the nodes it died holding.
    const victimDone = new Set(nodesLogged(victim, FINISHED));
    const diedHolding = new Set(
      nodesLogged(victim, 'port created').filter((n) => !victimDone.has(n)),
    );
    // A run without a finish line is one the victim finished in the instant before it died: pino
    // writes asynchronously, so a SIGKILL can swallow its last lines ('port created' included).
    // Ironic then saw the node's power-off before the kill; the survivors' logs are whole.
    const poweredOffBeforeKill = (node: string) =>
      ironic
        .calls({ method: 'PUT', pathname: `/v1/nodes/${node}/states/power` })
        .some((c) => c.at <= killedAt && (c.body as { target?: string }).target === 'power off');
    const unlogged = specs.map((s) => s.uuid).filter((n) => !finishes.includes(n));
    expect(unlogged.filter((n) => !diedHolding.has(n) && !poweredOffBeforeKill(n))).toEqual([]);
    // The survivors finished nodes the victim died holding.
    const bySurvivors = new Set(survivors.flatMap((w) => nodesLogged(w, FINISHED)));
    expect([...diedHolding].filter((n) => bySurvivors.has(n))).not.toEqual([]);

    // Ironic: each node's two ports created once, none deleted, every node updated and off.
    const created = ironic.calls({ method: 'POST', pathname: '/v1/ports', status: 201 });
    const perNode = new Map<string, string[]>();
    for (const call of created) {
      const body = call.body as { node_uuid: string; address: string };
      perNode.set(body.node_uuid, [...(perNode.get(body.node_uuid) ?? []), body.address]);
    }
    for (const spec of specs) {
      expect({ node: spec.name, created: perNode.get(spec.uuid)?.sort() }).toEqual({
        node: spec.name,
        created: [...spec.macs].sort(),
      });
      const node = ironic.node(spec.uuid)!;
      expect(
        ironic
          .portsOf(spec.uuid)
          .map((p) => p.address)
          .sort(),
      ).toEqual([...spec.macs].sort());
      expect(node.properties).toMatchObject({ cpus: '8', memory_mb: '16384' });
      expect(node.power_state).toBe('power off');
    }
    expect(ironic.calls({ method: 'DELETE' })).toEqual([]);

    // Nothing left behind in the queues the nodes went through.
    const redis = newRedis();
    const queues = [QueueName.Introspection, QueueName.Processing].map(
      (name) => new Queue(name, { connection: redis, prefix: stack.prefix }),
    );
    try {
      await waitUntil('the queues to drain', async () => {
        const counts = await Promise.all(
          queues.map((q) => q.getJobCountByTypes('active', 'wait', 'delayed', 'prioritized')),
        );
        return counts.every((n) => n === 0);
      });
      const failed = (await Promise.all(queues.map((q) => q.getFailed()))).flat();
      expect(failed.map((j) => ({ id: j.id, reason: j.failedReason }))).toEqual([]);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
      await redis.quit();
    }
  }, 240_000);
});
