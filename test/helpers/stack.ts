import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from 'bullmq';
import {
  closeConnections,
  createLogger,
  openConnections,
  loadConfig,
  type Config,
  type StateStore,
} from '@inspector/shared';
import { createApp } from '../../apps/api/src/app.ts';
import { apiDepsReady, closeApiDeps, createApiDeps } from '../../apps/api/src/deps.ts';
import { createWorkerContext, type WorkerContext } from '../../apps/worker/src/context.ts';
import { startWorkers } from '../../apps/worker/src/workers.ts';
import {
  nodeSpec,
  startFakeIronic,
  type FakeIronic,
  type FakeIronicOptions,
  type FakeNode,
} from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData, type RamdiskOptions } from '../fixtures/ramdisk-sim.ts';
import { waitUntil } from './processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from './redis.ts';

/** What the simulated machine does when it PXE-boots: post this data, or nothing (null). */
export type BootBehaviour = (node: FakeNode) => RamdiskOptions | null;

export interface Stack {
  url: string;
  ironic: FakeIronic;
  store: StateStore;
  config: Config;
  worker: WorkerContext;
  /** Replies the ramdisk got, per node uuid. */
  ramdiskReplies: Map<string, { status: number; body: unknown }>;
  onBoot: BootBehaviour;
  close(): Promise<void>;
}

/**
 * The real API and workers in this process, wired exactly as their entry
 * points wire them, against the real Redis (a private prefix) and a fake
 * Ironic whose PXE-booted nodes run the ramdisk simulator.
 */
export async function startStack(
  env: Record<string, string> = {},
  ironicOpts: FakeIronicOptions = { nodes: 10 },
): Promise<Stack> {
  const prefix = testPrefix();
  const ironic = await startFakeIronic(ironicOpts);
  const config = loadConfig({
    REDIS_URL,
    REDIS_PREFIX: prefix,
    IRONIC_URL: ironic.url,
    IRONIC_RETRY_DELAY_MS: '20',
    IRONIC_RETRY_ATTEMPTS: '4',
    // Tests start nodes by the dozen and want them booted at once; pacing has tests of its own.
    INTROSPECTION_DELAY_S: '0',
    IRONIC_TIMEOUT_MS: '2000',
    JOB_BACKOFF_MS: '50',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  });
  const logger = createLogger(config.LOG_LEVEL, 'test');
  const apiDeps = createApiDeps(config, logger);
  if (!(await apiDepsReady(apiDeps, 5000))) {
    await closeApiDeps(apiDeps);
    await ironic.close();
    throw new Error(`Redis at ${REDIS_URL} does not answer`);
  }
  const server: Server = await new Promise((resolve) => {
    const s = createApp(apiDeps).listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const workerConnections = openConnections(config, 'worker', logger);
  const worker = createWorkerContext(config, logger, workerConnections);
  const workers: Worker[] = startWorkers(worker, workerConnections.queues);

  const stack: Stack = {
    url,
    ironic,
    store: apiDeps.store,
    config,
    worker,
    ramdiskReplies: new Map(),
    onBoot: () => ({}),
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await worker.queues.close();
      await closeConnections(workerConnections);
      await new Promise((r) => server.close(r));
      server.closeAllConnections();
      await closeApiDeps(apiDeps);
      await ironic.close();
      const redis = newRedis();
      await dropPrefix(redis, prefix);
      await redis.quit();
    },
  };
  ironic.onPowerOn = async (node, info) => {
    if (info.bootDevice !== 'pxe') return;
    const opts = stack.onBoot(node);
    if (!opts) return;
    const spec = {
      index: node.fake.index ?? 0,
      // The machine has its NICs whether or not Ironic has ports for them.
      macs:
        node.fake.index === null
          ? info.ports.map((p) => p.address)
          : nodeSpec(node.fake.index).macs,
      bmcAddress: String(node.driver_info.ipmi_address),
    };
    const data = buildRamdiskData(spec, opts);
    const reply = await postRamdiskData(url, data);
    stack.ramdiskReplies.set(node.uuid, reply);
  };
  return stack;
}

export async function api(
  stack: { url: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Polls a node's status until its run has finished (in success or error); returns that status. */
export function finishedStatus(
  target: { url: string },
  node: string,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<any> {
  return waitUntil(
    `node ${node} to finish`,
    async () => {
      const res = await api(target, 'GET', `/v1/introspection/${node}`);
      return res.body?.finished ? res.body : null;
    },
    timeoutMs,
    intervalMs,
  );
}
