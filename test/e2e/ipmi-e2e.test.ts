import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { startSims, stopSims } from '../helpers/bmc-sim.ts';
import { ipmitool } from '../helpers/ipmi.ts';
import {
  ROOT,
  freePort,
  startService,
  waitUntil,
  type ServiceProcess,
} from '../helpers/processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from '../helpers/redis.ts';
import { api, finishedStatus } from '../helpers/stack.ts';

/**
 * Workers power nodes straight through their BMCs: simulated BMCs (ipmi_sim)
 * answering real ipmitool, each "machine" running the ramdisk simulator when
 * powered on with PXE as its boot device.
 */
const NODES = 10;
const CREDS_NODE = NODES;
const WRONG_PASSWORD_NODE = NODES + 1;
let ironic: FakeIronic;
let apiProc: ServiceProcess;
let workerProc: ServiceProcess;
let url: string;
let simDir: string;
let base: number;
const prefix = testPrefix();

const statusOf = async (uuid: string) =>
  (await api({ url }, 'GET', `/v1/introspection/${uuid}`)).body;
const finished = (uuid: string, timeoutMs = 60_000) =>
  finishedStatus({ url }, uuid, timeoutMs, 200);

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  simDir = await mkdtemp(path.join(tmpdir(), 'bmc-e2e-'));
  const onPowerOn =
    '[ "$BMC_BOOTDEV" = pxe ] || exit 0; ' +
    `cd ${ROOT} && exec node --import tsx test/fixtures/ramdisk-sim.ts --index "$BMC_INDEX" --bmc-address 127.0.0.1`;
  base = await startSims(simDir, NODES + 2, { from: 9700, onPowerOn, env: { CALLBACK: url } });
  ironic = await startFakeIronic({ showPasswords: true });
  for (let i = 0; i < NODES + 2; i++) {
    ironic.addNode({
      index: i,
      spec: {
        bmcAddress: '127.0.0.1',
        ipmiPortBase: base,
        driverInfo: {
          ipmi_cipher_suite: 3,
          ipmi_password: i === WRONG_PASSWORD_NODE ? 'wrongpassword' : 'password',
        },
      },
      maintenance: i === CREDS_NODE,
    });
  }
  const env = {
    REDIS_URL,
    REDIS_PREFIX: prefix,
    IRONIC_URL: ironic.url,
    INTROSPECTION_DELAY_S: '0',
    PORT: String(port),
    HOST: '127.0.0.1',
    POWER_MANAGEMENT: 'ipmi',
    ENABLE_SETTING_IPMI_CREDENTIALS: 'true',
    CREDENTIALS_CHECK_ATTEMPTS: '30',
    CREDENTIALS_CHECK_INTERVAL_MS: '1000',
    JOB_ATTEMPTS: '1',
  };
  apiProc = startService('apps/api/src/main.ts', env);
  workerProc = startService('apps/worker/src/main.ts', env);
  await Promise.all([apiProc.waitFor(/API listening/), workerProc.waitFor(/worker started/)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([apiProc?.stop(), workerProc?.stop()]);
  await ironic?.close();
  await stopSims(simDir);
  await rm(simDir, { recursive: true, force: true });
  const redis = newRedis();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe('POWER_MANAGEMENT=ipmi against simulated BMCs', () => {
  it(`powers ${NODES} nodes on through their BMCs, processes them and powers them off`, async () => {
    const nodes = Array.from({ length: NODES }, (_, i) => ironic.node(`node-${i}`)!);
    for (const node of nodes) {
      expect((await api({ url }, 'POST', `/v1/introspection/${node.uuid}`)).status).toBe(202);
    }
    const finals = await Promise.all(nodes.map((n) => finished(n.uuid, 90_000)));
    for (const [i, node] of nodes.entries()) {
      expect(finals[i]).toMatchObject({ state: 'finished', error: null });
      expect(ironic.node(node.uuid)!.properties).toMatchObject({ cpus: '8', memory_mb: '16384' });
      expect(ironic.portsOf(node.uuid)).toHaveLength(2);
      const power = await ipmitool(base + i, 'admin', 'password', 'power', 'status');
      expect(power).toEqual({ ok: true, out: 'Chassis Power is off' });
    }
    // No power call went through Ironic: the workers talked to the BMCs.
    expect(ironic.calls({ pathRe: /states\/power|boot_device/ })).toEqual([]);
  }, 120_000);

  it('sets new IPMI credentials through the ramdisk and proves them before powering off', async () => {
    const node = ironic.node(`node-${CREDS_NODE}`)!;
    const port = base + CREDS_NODE;
    const start = await api(
      { url },
      'POST',
      `/v1/introspection/${node.uuid}?new_ipmi_username=ironic&new_ipmi_password=Secret123`,
    );
    expect(start.status).toBe(202);
    await waitUntil('waiting', async () => (await statusOf(node.uuid)).state === 'waiting');
    // No power action at start: the operator powers the node on by hand.
    expect((await ipmitool(port, 'admin', 'password', 'power', 'status')).out).toBe(
      'Chassis Power is off',
    );
    await ipmitool(port, 'admin', 'password', 'chassis', 'bootdev', 'pxe');
    await ipmitool(port, 'admin', 'password', 'power', 'on');

    expect(await finished(node.uuid, 90_000)).toMatchObject({ state: 'finished', error: null });
    expect(await ipmitool(port, 'ironic', 'Secret123', 'power', 'status')).toEqual({
      ok: true,
      out: 'Chassis Power is off',
    });
    expect((await ipmitool(port, 'admin', 'password', 'power', 'status')).ok).toBe(false);
    expect(ironic.node(node.uuid)!.driver_info).toMatchObject({
      ipmi_username: 'ironic',
      ipmi_password: 'Secret123',
    });
    // The new password reached no log line of either process.
    expect([...apiProc.output, ...workerProc.output].join('\n')).not.toContain('Secret123');
  }, 120_000);

  it('a wrong BMC password ends the run in error with a clear message', async () => {
    const node = ironic.node(`node-${WRONG_PASSWORD_NODE}`)!;
    await api({ url }, 'POST', `/v1/introspection/${node.uuid}`);
    const final = await finished(node.uuid);
    expect(final.state).toBe('error');
    expect(final.error).toContain(`node ${node.uuid}`);
    expect(final.error).toContain(
      `127.0.0.1:${base + WRONG_PASSWORD_NODE} refused the credentials of user admin`,
    );
    expect(final.error).not.toContain('wrongpassword');
  });
});
