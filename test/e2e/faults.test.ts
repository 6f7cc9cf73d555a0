import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeSpec, startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { startSims, stopSims } from '../helpers/bmc-sim.ts';
import { freePort, startService, waitUntil, type ServiceProcess } from '../helpers/processes.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.ts';
import { api, finishedStatus } from '../helpers/stack.ts';

/** Each scenario runs the real entry points as processes against its own Redis. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Service {
  url: string;
  redis: PrivateRedis;
  ironic: FakeIronic;
  apiProc: ServiceProcess;
  startWorker(): Promise<ServiceProcess>;
}

async function startStackProcesses(
  env: Record<string, string> = {},
  ironic?: FakeIronic,
): Promise<Service> {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.destroy());
  const fake = ironic ?? (await startFakeIronic({ nodes: 20 }));
  cleanups.push(() => fake.close());
  const port = await freePort();
  const base = {
    REDIS_URL: redis.url,
    IRONIC_URL: fake.url,
    INTROSPECTION_DELAY_S: '0',
    PORT: String(port),
    HOST: '127.0.0.1',
    IRONIC_RETRY_DELAY_MS: '20',
    ...env,
  };
  const apiProc = startService('apps/api/src/main.ts', base);
  cleanups.push(() => apiProc.stop('SIGKILL'));
  await apiProc.waitFor(/API listening/);
  return {
    url: `http://127.0.0.1:${port}`,
    redis,
    ironic: fake,
    apiProc,
    async startWorker() {
      const w = startService('apps/worker/src/main.ts', base);
      cleanups.push(() => w.stop('SIGKILL'));
      await w.waitFor(/worker started/);
      return w;
    },
  };
}

const statusOf = async (svc: Service, uuid: string) =>
  (await api(svc, 'GET', `/v1/introspection/${uuid}`)).body;
const inState = (svc: Service, uuid: string, state: string, timeoutMs = 30_000) =>
  waitUntil(
    `${uuid} ${state}`,
    async () => (await statusOf(svc, uuid).catch(() => null))?.state === state,
    timeoutMs,
    100,
  );

describe('faults, with the real processes', () => {
  it('Redis restarts while nodes wait and process: the API says 503 meanwhile, nothing is lost', async () => {
    // A job in hand when Redis died can lose its lock, and waits for BullMQ's stalled-job check
    // (45 s at the defaults): short ones keep this test well within its time.
    const svc = await startStackProcesses({
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    });
    await svc.startWorker();
    const specs = Array.from({ length: 12 }, (_, i) => nodeSpec(i));
    for (const s of specs)
      expect((await api(svc, 'POST', `/v1/introspection/${s.uuid}`)).status).toBe(202);
    for (const s of specs) await inState(svc, s.uuid, 'waiting');
    // Half of them are mid-processing (Ironic slow to patch) when Redis goes away.
    for (const s of specs.slice(0, 6))
      svc.ironic.faults.add({ node: s.uuid, method: 'PATCH', delayMs: 1500, times: 1 });
    for (const s of specs.slice(0, 6))
      expect((await postRamdiskData(svc.url, buildRamdiskData(s))).status).toBe(200);

    await svc.redis.stop('SIGKILL');
    const down = await api(svc, 'GET', `/v1/introspection/${specs[0]!.uuid}`);
    expect(down.status).toBe(503);
    expect(down.body.error.message).toBe('The state store (Redis) is unavailable, retry later');
    expect(down.headers.get('retry-after')).toBe('5');
    const callback = await postRamdiskData(svc.url, buildRamdiskData(specs[6]!));
    expect(callback.status).toBe(503);

    await new Promise((r) => setTimeout(r, 1000));
    await svc.redis.start();
    // The ramdisks whose callback failed retry, as IPA does.
    await waitUntil(
      'API back',
      async () => (await api(svc, 'GET', '/v1/introspection')).status === 200,
    );
    for (const s of specs.slice(6))
      expect((await postRamdiskData(svc.url, buildRamdiskData(s))).status).toBe(200);
    for (const s of specs) {
      await inState(svc, s.uuid, 'finished', 60_000);
      expect(svc.ironic.node(s.uuid)!.properties.cpus).toBe('8');
    }
    const list = await api(svc, 'GET', '/v1/introspection');
    expect(list.body.introspection).toHaveLength(specs.length);
  });

  it('a worker SIGKILLed in the middle of processing: another worker takes the job, the node finishes once', async () => {
    const svc = await startStackProcesses({
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    });
    const first = await svc.startWorker();
    const spec = nodeSpec(0);
    await api(svc, 'POST', `/v1/introspection/${spec.uuid}`);
    await inState(svc, spec.uuid, 'waiting');
    svc.ironic.onPowerOn = undefined;
    svc.ironic.faults.add({ node: spec.uuid, method: 'PATCH', hang: true, times: 1 });
    expect((await postRamdiskData(svc.url, buildRamdiskData(spec))).status).toBe(200);
    await svc.ironic
      .waitForCall({ node: spec.uuid, method: 'PATCH' }, 10_000)
      .catch(() => undefined);
    await waitUntil(
      'PATCH in flight',
      async () => svc.ironic.calls({ node: spec.uuid, method: 'PATCH' }).length > 0,
    );
    await first.stop('SIGKILL');

    await svc.startWorker();
    const final = await finishedStatus(svc, spec.uuid);
    expect(final).toMatchObject({ state: 'finished', error: null });
    expect(
      svc.ironic
        .portsOf(spec.uuid)
        .map((p) => p.address)
        .sort(),
    ).toEqual([...spec.macs].sort());
    expect(svc.ironic.node(spec.uuid)!.power_state).toBe('power off');
    // One power-off sequence at most per processing attempt, and the node is not restarted.
    expect(svc.ironic.calls({ node: spec.uuid, pathRe: /boot_device/ })).toHaveLength(1);
  });

  it('a BMC that stops answering mid-run ends that run in error; the other nodes go on', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bmc-faults-'));
    const deadDir = await mkdtemp(path.join(tmpdir(), 'bmc-dead-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    cleanups.push(() => rm(deadDir, { recursive: true, force: true }));
    const base = await startSims(dir, 2, { from: 9800 });
    cleanups.push(() => stopSims(dir));
    const deadBase = await startSims(deadDir, 1, { from: base + 10 });
    cleanups.push(() => stopSims(deadDir));
    const ironic = await startFakeIronic({ showPasswords: true });
    const bmc = (port: number) => ({
      spec: {
        bmcAddress: '127.0.0.1',
        driverInfo: { ipmi_port: port, ipmi_cipher_suite: 3, ipmi_password: 'password' },
      },
    });
    const nodes = [
      ironic.addNode({ index: 0, ...bmc(base) }),
      ironic.addNode({ index: 1, ...bmc(base + 1) }),
      ironic.addNode({ index: 2, ...bmc(deadBase) }),
    ];
    const svc = await startStackProcesses(
      { POWER_MANAGEMENT: 'ipmi', JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '100' },
      ironic,
    );
    await svc.startWorker();
    for (const n of nodes)
      expect((await api(svc, 'POST', `/v1/introspection/${n.uuid}`)).status).toBe(202);
    for (const n of nodes) {
      await inState(svc, n.uuid, 'waiting', 60_000).catch(async (err) => {
        throw new Error(`${String(err)}: ${JSON.stringify(await statusOf(svc, n.uuid))}`);
      });
    }

    await stopSims(deadDir);
    for (const n of nodes) {
      expect(
        (
          await postRamdiskData(
            svc.url,
            buildRamdiskData(nodeSpec(n.fake.index!), { bmcAddress: '127.0.0.1' }),
          )
        ).status,
      ).toBe(200);
    }
    const dead = await finishedStatus(svc, nodes[2]!.uuid, 60_000, 200);
    expect(dead.state).toBe('error');
    expect(dead.error).toContain(`Failed to power off node ${nodes[2]!.uuid}`);
    expect(dead.error).toContain(`BMC 127.0.0.1:${deadBase} did not answer`);
    for (const n of nodes.slice(0, 2)) await inState(svc, n.uuid, 'finished', 60_000);
  });
});
