/** The service as real clients meet it: API and worker as separate processes, a Redis prefix of its own. */
import { freePort, startService, type ServiceProcess } from '../helpers/processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from '../helpers/redis.ts';

export interface RunningService {
  url: string;
  port: number;
  api: ServiceProcess;
  worker: ServiceProcess;
  stop(): Promise<void>;
}

export async function startInspector(
  env: Record<string, string>,
  port?: number,
): Promise<RunningService> {
  const prefix = testPrefix();
  const listen = port ?? (await freePort());
  const full = {
    REDIS_URL,
    REDIS_PREFIX: prefix,
    IRONIC_RETRY_DELAY_MS: '100',
    INTROSPECTION_DELAY_S: '0',
    PORT: String(listen),
    HOST: '127.0.0.1',
    ...env,
  };
  const api = startService('apps/api/src/main.ts', full);
  const worker = startService('apps/worker/src/main.ts', full);
  const stop = async () => {
    await Promise.all([api.stop(), worker.stop()]);
    const redis = newRedis();
    await dropPrefix(redis, prefix);
    await redis.quit();
  };
  try {
    // Generous: on two shared cores these start beside Ironic or Keystone and other suites.
    await Promise.all([
      api.waitFor(/API listening/, 90_000),
      worker.waitFor(/worker started/, 90_000),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${listen}`, port: listen, api, worker, stop };
}
