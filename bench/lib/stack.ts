/**
 * One service under test, every part its own process: a private Redis, the
 * fake Ironic (or a given Ironic), the API and N workers, started from their
 * real entry points with environment configuration.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { storeKeys, type StoreKeys } from '@inspector/shared';
import {
  baseEnv,
  freePort,
  procCpuSeconds,
  procMemory,
  startNodeEntry,
  type Proc,
  type ProcMemory,
} from './processes.ts';
import { startRedis, usedMemory, type BenchRedis } from './redis-server.ts';

export const PREFIX = '{bench}';

export interface StackOptions {
  /** Directory of this stack's logs (and profiles). */
  dir: string;
  workers: number;
  /** Start the fake Ironic with this many nodes; `callback` makes PXE-booted nodes post ramdisk data. */
  fakeIronic?: { nodes: number; callback: boolean };
  /** Or use this Ironic. */
  ironicUrl?: string;
  /** Service configuration (environment variables), over the bench's defaults. */
  env?: Record<string, string>;
  /** Profile the API and workers with `node --cpu-prof` into `<dir>/profiles`. */
  profile?: boolean;
  /** Niceness of the worker processes. */
  workerNice?: number;
  /** Extra environment per service process (by its name: api, worker-1, ...). */
  envFor?: (name: string) => Record<string, string>;
  /** Modules every service process loads after tsx. */
  preload?: string[];
}

export interface StackMemory {
  api: ProcMemory;
  workers: ProcMemory[];
  redis: { used: number; peak: number; rss: ProcMemory };
}

export interface Stack {
  url: string;
  ironicUrl: string;
  prefix: string;
  keys: StoreKeys;
  redis: BenchRedis;
  api: Proc;
  workers: Proc[];
  ironic: Proc | null;
  /** Service processes (API first), for profiles and problem lines. */
  services: Proc[];
  /** Where each service process serves Prometheus metrics, by name. */
  metricsUrls: Record<string, string>;
  profileDir: string | null;
  memory(): Promise<StackMemory>;
  /** CPU seconds each process has used so far, by name. */
  cpu(): Promise<Record<string, number>>;
  /** Warn/error lines of every process, with counts. */
  problems(): { proc: string; count: number; sample: string[] }[];
  /** Forgets the problem lines so far (e.g. after a warm-up). */
  clearProblems(): void;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  await mkdir(opts.dir, { recursive: true });
  const profileDir = opts.profile ? path.join(opts.dir, 'profiles') : null;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  // One directory per process: tsx's loader thread writes a profile of its own beside the main thread's.
  const profileArgs = (name: string) =>
    profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, name)] : [];
  const started: { stop(): Promise<unknown> }[] = [];
  try {
    const redis = await startRedis(opts.dir);
    started.push(redis);
    const apiPort = await freePort();
    const url = `http://127.0.0.1:${apiPort}`;

    let ironic: Proc | null = null;
    let ironicUrl = opts.ironicUrl ?? '';
    if (opts.fakeIronic) {
      const port = await freePort();
      ironicUrl = `http://127.0.0.1:${port}`;
      ironic = startNodeEntry('fake-ironic', 'test/fixtures/fake-ironic-cli.ts', {
        env: baseEnv(),
        logDir: opts.dir,
        nodeArgs: profileArgs('fake-ironic'),
        args: [
          '--nodes',
          String(opts.fakeIronic.nodes),
          '--port',
          String(port),
          '--quiet',
          ...(opts.fakeIronic.callback ? ['--callback-url', `${url}/v1/continue`] : []),
        ],
      });
      started.push(ironic);
      await ironic.waitFor(/fake-ironic listening/, 60_000);
    }
    if (!ironicUrl) throw new Error('startStack needs fakeIronic or ironicUrl');

    const env = {
      ...baseEnv(),
      REDIS_URL: redis.url,
      REDIS_PREFIX: PREFIX,
      IRONIC_URL: ironicUrl,
      // The service's own pace, not the pacing an operator sets to spare DHCP and TFTP.
      INTROSPECTION_DELAY_S: '0',
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      ...opts.env,
    };
    const service = (name: string, entry: string, own: Record<string, string> = {}) =>
      startNodeEntry(name, entry, {
        env: { ...env, ...own, ...opts.envFor?.(name) },
        logDir: opts.dir,
        preload: opts.preload,
        nodeArgs: profileArgs(name),
      });
    const api = service('api', 'apps/api/src/main.ts');
    started.push(api);
    const workers: Proc[] = [];
    const metricsUrls: Record<string, string> = { api: `${url}/metrics` };
    for (let i = 1; i <= opts.workers; i++) {
      // Each worker serves /metrics and health on a port of its own.
      const port = await freePort();
      const name = `worker-${i}`;
      metricsUrls[name] = `http://127.0.0.1:${port}/metrics`;
      const worker = service(name, 'apps/worker/src/main.ts', {
        WORKER_HTTP_PORT: String(port),
        WORKER_HTTP_HOST: '127.0.0.1',
      });
      if (opts.workerNice) os.setPriority(worker.pid, opts.workerNice);
      workers.push(worker);
      started.push(worker);
    }
    await Promise.all([
      api.waitFor(/API listening/),
      ...workers.map((w) => w.waitFor(/worker started/)),
    ]);

    const services = [api, ...workers];
    const all = [...services, ...(ironic ? [ironic] : [])];
    for (const p of all) p.clearProblems();
    return {
      url,
      ironicUrl,
      prefix: PREFIX,
      keys: storeKeys(PREFIX),
      redis,
      api,
      workers,
      ironic,
      services,
      metricsUrls,
      profileDir,
      async memory() {
        const [apiMem, workerMem, redisMem, redisRss] = await Promise.all([
          procMemory(api.pid),
          Promise.all(workers.map((w) => procMemory(w.pid))),
          usedMemory(redis.client),
          procMemory(redis.pid),
        ]);
        return { api: apiMem, workers: workerMem, redis: { ...redisMem, rss: redisRss } };
      },
      async cpu() {
        const entries = await Promise.all(
          [...all, { name: 'redis', pid: redis.pid }].map(
            async (p) => [p.name, await procCpuSeconds(p.pid)] as const,
          ),
        );
        return Object.fromEntries(entries);
      },
      problems() {
        return all
          .filter((p) => p.problemCount > 0)
          .map((p) => ({ proc: p.name, count: p.problemCount, sample: p.problems.slice(0, 5) }));
      },
      clearProblems() {
        for (const p of all) p.clearProblems();
      },
      async stop() {
        // Workers first, so none is left holding jobs the API can no longer be asked about.
        await Promise.all(workers.map((w) => w.stop()));
        await api.stop();
        await ironic?.stop(5_000);
        await redis.stop();
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
}
