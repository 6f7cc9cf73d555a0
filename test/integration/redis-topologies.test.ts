import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StateStore,
  createRedis,
  createRedisClient,
  isRedisUnavailable,
  type RedisClient,
} from '@inspector/shared';
import { freePort, waitUntil } from '../helpers/processes.ts';
import { testPrefix } from '../helpers/redis.ts';

/**
 * The shared Redis code against real topologies beyond one server: a
 * three-master Redis Cluster and a Sentinel-watched master with a replica,
 * each made of private redis-server processes on free ports.
 */
const run = promisify(execFile);
const servers: ChildProcess[] = [];
let dir: string;

async function startServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1'], {
    stdio: 'ignore',
  });
  servers.push(child);
  await waitUntil(`redis-server on ${port}`, async () => {
    const ping = await run('redis-cli', ['-p', String(port), 'ping']).catch(() => null);
    return ping?.stdout.trim() === 'PONG';
  });
  return child;
}

const cli = async (port: number, ...args: string[]) =>
  (await run('redis-cli', ['-p', String(port), ...args])).stdout.trim();

/** A flow every process goes through: a run started and moved on, and a BullMQ job done. */
async function storeAndQueueFlow(
  connection: RedisClient,
  store: StateStore,
  prefix: string,
): Promise<unknown> {
  const uuid = randomUUID();
  const { gen } = await store.start({
    uuid,
    bmc: ['10.9.9.9'],
    macs: ['52:54:00:99:99:01'],
    manageBoot: true,
    reqId: 'req-topology',
  });
  expect(await store.transition(uuid, gen, 'wait')).toEqual({ ok: true, from: 'starting' });
  expect(await store.candidates({ bmc_address: ['10.9.9.9'], mac: [] })).toEqual([[uuid]]);

  const queue = new Queue('introspection', { connection, prefix });
  const worker = new Worker(
    'introspection',
    async (job) => ({ node: (job.data as { node: string }).node, seen: true }),
    { connection, prefix },
  );
  try {
    const job = await queue.add('introspect', { node: uuid, gen, reqId: 'req-topology' });
    await waitUntil('the job to be done', async () => {
      const state = await job.getState();
      if (state === 'failed')
        throw new Error(`job failed: ${(await queue.getJob(job.id!))?.failedReason}`);
      return state === 'completed';
    });
    return (await queue.getJob(job.id!))?.returnvalue;
  } finally {
    await worker.close();
    await queue.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'redis-topologies-'));
});

afterAll(async () => {
  for (const child of servers) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('Redis Cluster (three masters)', () => {
  let url: string;
  let ports: number[];
  const clients: RedisClient[] = [];

  beforeAll(async () => {
    ports = [await freePort(), await freePort(), await freePort()];
    for (const port of ports) {
      await startServer(port, [
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(await freePort()),
        '--cluster-config-file',
        path.join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ]);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitUntil('the cluster to be ok', async () => {
      const infos = await Promise.all(ports.map((p) => cli(p, 'cluster', 'info')));
      return infos.every((i) => i.includes('cluster_state:ok'));
    });
    url = `redis-cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  });

  it('runs the state store and a BullMQ job through a Cluster client', async () => {
    const connection = createRedisClient(url, 'worker', 'test-cluster');
    // The store's own connection pipelines automatically, as in the service.
    const storeConnection = createRedisClient(url, 'worker', 'test-cluster-store', 'store');
    clients.push(connection, storeConnection);
    expect(connection).toBeInstanceOf(Cluster);
    const prefix = testPrefix();
    // StateStore is typed for a single Redis; every command it sends exists on a Cluster too.
    const store = new StateStore(storeConnection as unknown as Redis, {
      prefix,
      keepTimeMs: 60_000,
      secretTtlMs: 60_000,
    });
    const result = await storeAndQueueFlow(connection, store, prefix);
    expect(result).toEqual({ node: expect.any(String), seen: true });
    // The hash tag put everything on one master; the others hold none of it.
    const holding = await Promise.all(ports.map((p) => cli(p, 'dbsize')));
    expect(holding.filter((n) => n !== '0')).toHaveLength(1);
  });

  it('is why the prefix must be a hash tag: without one BullMQ cannot run its scripts', async () => {
    const connection = createRedisClient(url, 'api', 'test-cluster-api');
    clients.push(connection);
    const queue = new Queue('introspection', { connection, prefix: 'no-hash-tag' });
    try {
      await expect(queue.add('introspect', {})).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await queue.close();
    }
  });

  it('reports an unreachable or not yet ready Cluster as Redis unavailable, not as a bug', async () => {
    const gone = createRedisClient(`redis-cluster://127.0.0.1:${await freePort()}`, 'api');
    // The API's connections queue nothing offline: a command before the client is ready fails.
    const early = createRedisClient(url, 'api');
    try {
      for (const client of [gone, early]) client.on('error', () => undefined);
      const errors = await Promise.all(
        [gone.get('x'), early.get('x')].map((p) =>
          p.then(
            () => null,
            (e: Error) => e,
          ),
        ),
      );
      for (const err of errors) {
        expect(err?.message).toMatch(/Cluster isn't ready|None of startup nodes is available/);
        expect(isRedisUnavailable(err)).toBe(true);
      }
    } finally {
      gone.disconnect();
      early.disconnect();
    }
  });

  it('refuses to hand a Cluster to code that needs a single Redis', () => {
    expect(() => createRedis(url, 'api')).toThrow(/needs createRedisClient/);
  });
});

describe('Redis Sentinel (a master, a replica, one sentinel)', () => {
  let master: ChildProcess;
  let masterPort: number;
  let replicaPort: number;
  let sentinelPort: number;
  const clients: RedisClient[] = [];

  beforeAll(async () => {
    [masterPort, replicaPort, sentinelPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const plain = ['--save', '', '--appendonly', 'no', '--dir', dir];
    master = await startServer(masterPort, plain);
    await startServer(replicaPort, [...plain, '--replicaof', '127.0.0.1', String(masterPort)]);
    const conf = path.join(dir, 'sentinel.conf');
    await writeFile(
      conf,
      [
        `sentinel monitor mymaster 127.0.0.1 ${masterPort} 1`,
        'sentinel down-after-milliseconds mymaster 1000',
        'sentinel failover-timeout mymaster 5000',
        '',
      ].join('\n'),
    );
    await startServer(sentinelPort, [conf, '--sentinel']);
    await waitUntil(
      'the replica to sync and the sentinel to see it',
      async () => {
        const replicas = await cli(sentinelPort, 'sentinel', 'replicas', 'mymaster');
        return replicas.includes(String(replicaPort)) && !replicas.includes('s_down');
      },
      20_000,
      200,
    );
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  });

  it('finds the master through the sentinel, and the new one when the master dies', async () => {
    const url = `redis-sentinel://127.0.0.1:${sentinelPort}/mymaster?db=2`;
    const api = createRedis(url, 'api', 'test-sentinel-api', 'store');
    const worker = createRedis(url, 'worker', 'test-sentinel-worker');
    clients.push(api, worker);
    // Connection errors are expected around the failover; the assertions say whether it recovered.
    for (const client of clients) client.on('error', () => undefined);
    // The API's connection refuses commands until it is connected (it fails fast by design).
    await waitUntil('the API connection', async () => api.status === 'ready');
    const prefix = testPrefix();
    const store = new StateStore(api, { prefix, keepTimeMs: 60_000, secretTtlMs: 60_000 });
    expect(await storeAndQueueFlow(worker, store, prefix)).toMatchObject({ seen: true });
    expect(await cli(masterPort, '-n', '2', 'exists', `${prefix}:gen`)).toBe('1');

    master.kill('SIGKILL');
    await waitUntil(
      'the sentinel to promote the replica',
      async () => (await cli(replicaPort, 'role')).startsWith('master'),
      20_000,
      200,
    );
    const uuid = randomUUID();
    // The API's connection fails fast by design: the first calls after the switch may fail.
    await waitUntil(
      'the API connection to reach the new master',
      () =>
        store
          .start({ uuid, bmc: ['10.9.9.8'], macs: [], manageBoot: true, reqId: 'r' })
          .catch(() => null),
      20_000,
      200,
    );
    expect(await cli(replicaPort, '-n', '2', 'hget', `${prefix}:node:${uuid}`, 'state')).toBe(
      'starting',
    );
    expect(await storeAndQueueFlow(worker, store, prefix)).toMatchObject({ seen: true });
  });
});
