/**
 * The soak: N nodes through the whole flow with several worker processes and
 * a fake Ironic (its own process) failing a share of its answers. Used by the
 * CI test (test/e2e/soak.test.ts, fewer nodes) and `npm run bench -- --soak`.
 */
import { Redis } from 'ioredis';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { freePort, startService, waitUntil, type ServiceProcess } from '../helpers/processes.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';

export interface SoakOptions {
  nodes: number;
  workers: number;
  /** Share of Ironic node and port calls answered 409 or 503. */
  errorRate: number;
  /** Status retention of the service during the soak, in seconds. */
  keepS: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  /** Keys present after the retention passed that were not there before the soak. */
  leftover: string[];
  nodes: number;
  finished: number;
  failed: number;
  /** Starts refused (after the client's own retries) because of an injected fault. */
  startsRefused: number;
  /** Error messages that do not come from an injected fault: must be empty. */
  unexplained: string[];
  /** Nodes not in a terminal state at the end, with their last status: must be empty. */
  stuck: string[];
  seconds: number;
  nodesPerSecond: number;
  redis: {
    baselineBytes: number;
    peakBytes: number;
    afterBytes: number;
    baselineKeys: number;
    afterKeys: number;
  };
}

/** What an injected fault looks like once the service has given up on it. */
export const INJECTED_FAULT = /HTTP (409|503)/;

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function memory(redis: Redis): Promise<{ bytes: number; keys: number }> {
  const info = await redis.info('memory');
  return { bytes: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0), keys: await redis.dbsize() };
}

interface Status {
  uuid: string;
  state: string;
  finished: boolean;
  error: string | null;
}

/** Every run's status, or null when the API could not answer this time (it is polled again). */
async function allStatuses(url: string): Promise<Status[] | null> {
  const out: Status[] = [];
  for (let marker = ''; ;) {
    const res = await fetch(`${url}/v1/introspection?limit=1000${marker}`);
    if (res.status !== 200) {
      await res.arrayBuffer();
      return null;
    }
    const page = ((await res.json()) as { introspection: Status[] }).introspection;
    out.push(...page);
    if (page.length < 1000) return out;
    marker = `&marker=${page[page.length - 1]!.uuid}`;
  }
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => undefined);
  const redisServer = await startPrivateRedis('everysec');
  const redis = new Redis(redisServer.url);
  const processes: ServiceProcess[] = [];
  try {
    const [apiPort, ironicPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${apiPort}`;
    const ironic = startService('test/fixtures/fake-ironic-cli.ts', {}, [
      '--nodes',
      String(opts.nodes + 1),
      '--port',
      String(ironicPort),
      '--callback-url',
      url,
      '--error-rate',
      String(opts.errorRate),
      '--quiet',
    ]);
    processes.push(ironic);
    const env = {
      REDIS_URL: redisServer.url,
      IRONIC_URL: `http://127.0.0.1:${ironicPort}`,
      INTROSPECTION_DELAY_S: '0',
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      NODE_STATUS_KEEP_TIME_S: String(opts.keepS),
      CLEAN_UP_PERIOD_S: '1',
      COMPLETED_JOB_KEEP_S: '1',
      FAILED_JOB_KEEP_S: '1',
      IRONIC_RETRY_DELAY_MS: '50',
      JOB_BACKOFF_MS: '200',
    };
    const api = startService('apps/api/src/main.ts', { ...env, LOG_LEVEL: 'info' });
    const workers = Array.from({ length: opts.workers }, () =>
      startService('apps/worker/src/main.ts', { ...env, LOG_LEVEL: 'info' }),
    );
    processes.push(api, ...workers);
    await Promise.all([
      ironic.waitFor(/listening/),
      api.waitFor(/API listening/),
      ...workers.map((w) => w.waitFor(/worker started/)),
    ]);
    // Warm-up: one node through the flow creates BullMQ's per-queue keys (ids, event
    // streams); once its status expires, what is left is the baseline.
    const warmUp = nodeSpec(opts.nodes).uuid;
    const warm = await fetch(`${url}/v1/introspection/${warmUp}`, { method: 'POST' });
    log(`warm-up start: ${warm.status} ${await warm.text()}`);
    await waitUntil(
      'warm-up finished and expired',
      async () => {
        const res = await fetch(`${url}/v1/introspection/${warmUp}`);
        await res.arrayBuffer();
        return res.status === 404 && (await redis.zcard('{inspector}:nodes')) === 0;
      },
      (opts.keepS + 60) * 1000,
      250,
    );
    const baseline = await memory(redis);
    const baselineKeys = new Set(await redis.keys('*'));
    log(`baseline: ${baseline.keys} keys, ${baseline.bytes} bytes`);

    // Statuses expire after keepS: a poller, running from the first start on, keeps each
    // node's final status as soon as it is seen.
    let peak = baseline.bytes;
    const finals = new Map<string, Status>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        peak = Math.max(peak, (await memory(redis)).bytes);
        for (const s of (await allStatuses(url).catch(() => null)) ?? []) {
          if (s.finished && !finals.has(s.uuid)) finals.set(s.uuid, s);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    const started = performance.now();
    const uuids = Array.from({ length: opts.nodes }, (_, i) => nodeSpec(i).uuid);
    let startsRefused = 0;
    const accepted: string[] = [];
    await mapLimit(uuids, 32, async (uuid) => {
      // An operator (or Ironic) retries a start the service refused with a 5xx.
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${url}/v1/introspection/${uuid}`, { method: 'POST' });
        const body = await res.text();
        if (res.status !== 202) log(`start of ${uuid}: ${res.status} ${body}`);
        if (res.status === 202) {
          accepted.push(uuid);
          return;
        }
        if (res.status < 500 || attempt === 3) {
          startsRefused++;
          return;
        }
      }
    });
    await waitUntil(
      'every node finished',
      async () => {
        log(`${finals.size}/${accepted.length} finished`);
        return accepted.every((uuid) => finals.has(uuid));
      },
      Math.max(180_000, opts.nodes * 500),
      500,
    ).catch(() => undefined);
    polling = false;
    await poller;
    const seconds = (performance.now() - started) / 1000;
    const statuses = [...finals.values()];
    const failed = statuses.filter((s) => s.error !== null);

    // Once the retention passes, the clean-up leaves Redis as it found it.
    let after = await memory(redis);
    await waitUntil(
      'Redis back to its baseline',
      async () => {
        after = await memory(redis);
        return after.keys <= baseline.keys;
      },
      (opts.keepS + 30) * 1000,
      500,
    ).catch(() => undefined);
    const leftover = (await redis.keys('*')).filter((k) => !baselineKeys.has(k));
    return {
      leftover,
      nodes: opts.nodes,
      finished: statuses.length - failed.length,
      failed: failed.length,
      startsRefused,
      unexplained: failed.map((s) => s.error!).filter((e) => !INJECTED_FAULT.test(e)),
      stuck: await Promise.all(
        accepted
          .filter((uuid) => !finals.has(uuid))
          .map(async (uuid) => {
            const res = await fetch(`${url}/v1/introspection/${uuid}`);
            return `${uuid}: ${res.status} ${await res.text()}`;
          }),
      ),
      seconds,
      nodesPerSecond: opts.nodes / seconds,
      redis: {
        baselineBytes: baseline.bytes,
        peakBytes: peak,
        afterBytes: after.bytes,
        baselineKeys: baseline.keys,
        afterKeys: after.keys,
      },
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await redis.quit();
    await redisServer.destroy();
  }
}
