import { connect, type Socket } from 'node:net';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueName } from '@inspector/shared';
import { nodeSpec, startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { START_TIMEOUT_MS, exitedByItself, workerHttpUrl } from '../helpers/ops.ts';
import { freePort, startService, waitUntil, type ServiceProcess } from '../helpers/processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from '../helpers/redis.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { api } from '../helpers/stack.ts';

const prefix = testPrefix();
let ironic: FakeIronic;
let apiProc: ServiceProcess;
let url: string;
const started: ServiceProcess[] = [];

const env = () => ({
  REDIS_URL,
  REDIS_PREFIX: prefix,
  IRONIC_URL: ironic.url,
  INTROSPECTION_DELAY_S: '0',
  // A locked node is retried for as long as a test holds the lock.
  IRONIC_RETRY_ATTEMPTS: '100',
  IRONIC_RETRY_DELAY_MS: '20',
  HOST: '127.0.0.1',
  WORKER_HTTP_HOST: '127.0.0.1',
});

function service(entry: string, extra: Record<string, string> = {}): ServiceProcess {
  const proc = startService(entry, { ...env(), ...extra });
  started.push(proc);
  return proc;
}

const exited = (proc: ServiceProcess) =>
  new Promise<number | null>((resolve) => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      resolve(proc.child.exitCode);
    } else proc.child.once('exit', (code) => resolve(code));
  });

async function startWorker(extra: Record<string, string> = {}) {
  const worker = service('apps/worker/src/main.ts', extra);
  const http = await workerHttpUrl(worker);
  await waitUntil('the worker to be ready', async () => (await fetch(`${http}/readyz`)).ok);
  return { worker, http };
}

const state = async (uuid: string) =>
  (await api({ url }, 'GET', `/v1/introspection/${uuid}`)).body?.state;

/** Starts a run whose introspect job the worker holds: Ironic keeps the node locked (409). */
async function jobInHand(index: number) {
  const spec = nodeSpec(index);
  ironic.lock(spec.uuid);
  ironic.clearCalls();
  expect((await api({ url }, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
  await waitUntil('the worker to meet the locked node', async () =>
    ironic.calls({ node: spec.uuid, status: 409 }).length > 0 ? true : null,
  );
  return spec;
}

beforeAll(async () => {
  ironic = await startFakeIronic({ nodes: 10 });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  apiProc = service('apps/api/src/main.ts', { PORT: String(port) });
  await apiProc.waitFor(/API listening/, START_TIMEOUT_MS);
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
  await ironic?.close();
  const redis = newRedis();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe('worker shutdown', () => {
  it('on SIGTERM stops taking jobs and finishes the ones in hand', async () => {
    const { worker, http } = await startWorker();
    const inHand = await jobInHand(0);

    worker.child.kill('SIGTERM');
    await worker.waitFor(/shutting down/);
    const ready = await fetch(`${http}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ error: { message: 'The worker is shutting down' } });

    const later = nodeSpec(1);
    expect((await api({ url }, 'POST', `/v1/introspection/${later.uuid}`)).status).toBe(202);
    ironic.unlock(inHand.uuid);

    expect(await exited(worker)).toBe(0);
    expect(worker.output.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    expect(await state(inHand.uuid)).toBe('waiting');
    expect(ironic.node(inHand.uuid)!.power_state).toBe('power on');
    expect(await state(later.uuid)).toBe('starting');
    const connection = newRedis();
    const queue = new Queue(QueueName.Introspection, { connection, prefix });
    try {
      const waiting = await queue.getJobs(['waiting']);
      expect(waiting.map((j) => [j.name, j.data.node])).toContainEqual(['introspect', later.uuid]);
    } finally {
      await queue.close();
      await connection.quit();
    }
  });

  it('exits at once on a second signal, leaving the job in hand', async () => {
    const { worker } = await startWorker();
    const inHand = await jobInHand(2);
    worker.child.kill('SIGTERM');
    await worker.waitFor(/shutting down/);
    worker.child.kill('SIGTERM');
    expect(await exited(worker)).toBe(1);
    expect(worker.output.some((l) => l.includes('second signal, exiting at once'))).toBe(true);
    expect(await state(inHand.uuid)).toBe('starting');
    ironic.unlock(inHand.uuid);
  });

  it('exits by its deadline while Redis is unreachable', async () => {
    const redis = await startPrivateRedis();
    try {
      const { worker, http } = await startWorker({
        REDIS_URL: redis.url,
        SHUTDOWN_GRACE_S: '2',
      });
      await redis.stop('SIGKILL');
      const notReady = await waitUntil('the worker to report Redis gone', async () => {
        const res = await fetch(`${http}/readyz`);
        return res.status === 503 ? ((await res.json()) as { error: { message: string } }) : null;
      });
      expect(notReady.error.message).toMatch(/Redis|blocking/);

      worker.child.kill('SIGTERM');
      const code = await exited(worker);
      expect(exitedByItself(worker)).toBe(true);
      expect([0, 1]).toContain(code);
    } finally {
      await redis.destroy();
    }
  });
});

describe('API shutdown', () => {
  it('on SIGTERM refuses new connections and answers the requests in flight', async () => {
    const port = await freePort();
    const proc = service('apps/api/src/main.ts', { PORT: String(port) });
    await proc.waitFor(/API listening/, START_TIMEOUT_MS);

    // A ramdisk callback whose body is still on its way: the API has read the
    // headers (it asked for the body with 100 Continue) and waits for the rest.
    const body = JSON.stringify(buildRamdiskData(nodeSpec(9)));
    const socket: Socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.on('data', (chunk) => (reply += chunk.toString('utf8')));
    socket.write(
      [
        'POST /v1/continue HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Expect: 100-continue',
        '',
        '',
      ].join('\r\n'),
    );
    await waitUntil('100 Continue', async () => reply.includes('100 Continue'));

    proc.child.kill('SIGTERM');
    await proc.waitFor(/shutting down/);
    await waitUntil('new connections to be refused', () => refused(port));

    socket.write(body);
    const code = await exited(proc);
    const answer = reply.slice(reply.indexOf('\r\n\r\n') + 4);
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer).toContain('{"error":{"message":"Could not find a node');
    expect(code).toBe(0);
    expect(proc.output.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    socket.destroy();
  });
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
