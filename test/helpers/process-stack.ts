import { nodeSpec, type FakeIronic, type FakeNode } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData, type RamdiskOptions } from '../fixtures/ramdisk-sim.ts';
import { freePort, startService, type ServiceProcess } from './processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from './redis.ts';

export interface ProcessStack {
  url: string;
  prefix: string;
  env: Record<string, string>;
  api: ServiceProcess;
  workers: ServiceProcess[];
  stop(): Promise<void>;
}

/**
 * The real entry points as processes: one API and `workers` worker processes
 * on a private Redis prefix, against a fake Ironic whose PXE-booted nodes post
 * their ramdisk data (as `ramdisk(node)` says; null posts nothing).
 */
export async function startProcessStack(
  ironic: FakeIronic,
  opts: {
    workers?: number;
    env?: Record<string, string>;
    ramdisk?: (node: FakeNode) => RamdiskOptions | null;
  } = {},
): Promise<ProcessStack> {
  const prefix = testPrefix();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const ramdisk = opts.ramdisk ?? (() => ({}));
  ironic.onPowerOn = async (node, info) => {
    if (info.bootDevice !== 'pxe' || node.fake.index === null) return;
    const options = ramdisk(node);
    if (options) await postRamdiskData(url, buildRamdiskData(nodeSpec(node.fake.index), options));
  };
  const env = {
    REDIS_URL,
    REDIS_PREFIX: prefix,
    IRONIC_URL: ironic.url,
    IRONIC_RETRY_DELAY_MS: '20',
    INTROSPECTION_DELAY_S: '0',
    PORT: String(port),
    HOST: '127.0.0.1',
    WORKER_HTTP_HOST: '127.0.0.1',
    ...opts.env,
  };
  const api = startService('apps/api/src/main.ts', env);
  const workers = Array.from({ length: opts.workers ?? 1 }, () =>
    startService('apps/worker/src/main.ts', env),
  );
  // Several processes compiling TypeScript at once on a shared machine: give them time.
  await Promise.all([
    api.waitFor(/API listening/, 60_000),
    ...workers.map((w) => w.waitFor(/worker started/, 60_000)),
  ]);
  return {
    url,
    prefix,
    env,
    api,
    workers,
    async stop() {
      await Promise.all([api.stop(), ...workers.map((w) => w.stop())]);
      const redis = newRedis();
      await dropPrefix(redis, prefix);
      await redis.quit();
    },
  };
}
