import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { keystoneToken, startFakeKeystone, type FakeKeystone } from '../fixtures/fake-keystone.ts';
import { startSims, stopSims } from '../helpers/bmc-sim.ts';
import { ipmitool } from '../helpers/ipmi.ts';
import { dashboardDump, workerHttpUrl } from '../helpers/ops.ts';
import {
  ROOT,
  freePort,
  startService,
  waitUntil,
  type ServiceProcess,
} from '../helpers/processes.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.ts';

/**
 * A full run of the credential-setup flow with keystone auth and ipmi power,
 * then a search for the old and new IPMI passwords and the caller's token in
 * every place they must never reach: both processes' logs, everything in
 * Redis (job payloads included), the dashboard, the metrics and the API's bodies.
 */
const OLD_PASSWORD = 'OldPw7731';
const NEW_PASSWORD = 'NewPw4412';
let redis: PrivateRedis;
let ironic: FakeIronic;
let keystone: FakeKeystone;
let simDir: string;
let port: number;
let url: string;
let token: string;
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  keystone = await startFakeKeystone();
  token = await keystoneToken(keystone.url, 'operator', 'operatorpass');
  url = `http://127.0.0.1:${await freePort()}`;
  simDir = await mkdtemp(path.join(tmpdir(), 'bmc-secrets-'));
  const onPowerOn =
    '[ "$BMC_BOOTDEV" = pxe ] || exit 0; ' +
    `cd ${ROOT} && exec node --import tsx test/fixtures/ramdisk-sim.ts --index 0 --bmc-address 127.0.0.1`;
  port = await startSims(simDir, 1, {
    from: 9900,
    onPowerOn,
    env: { CALLBACK: url, BMC_PASSWORD: OLD_PASSWORD },
    password: OLD_PASSWORD,
  });
  ironic = await startFakeIronic({ showPasswords: true });
  ironic.addNode({
    index: 0,
    maintenance: true,
    spec: {
      bmcAddress: '127.0.0.1',
      driverInfo: { ipmi_port: port, ipmi_cipher_suite: 3, ipmi_password: OLD_PASSWORD },
    },
  });
  const env = {
    REDIS_URL: redis.url,
    IRONIC_URL: ironic.url,
    INTROSPECTION_DELAY_S: '0',
    PORT: new URL(url).port,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    AUTH_STRATEGY: 'keystone',
    KEYSTONE_URL: keystone.url,
    KEYSTONE_USERNAME: 'inspector',
    KEYSTONE_PASSWORD: 'inspectorpass',
    KEYSTONE_PROJECT: 'service',
    POWER_MANAGEMENT: 'ipmi',
    ENABLE_SETTING_IPMI_CREDENTIALS: 'true',
    CREDENTIALS_CHECK_INTERVAL_MS: '1000',
    CREDENTIALS_CHECK_ATTEMPTS: '30',
  };
  procs.push(
    startService('apps/api/src/main.ts', env),
    startService('apps/worker/src/main.ts', env),
  );
  await Promise.all([
    procs[0]!.waitFor(/API listening/, 60_000),
    procs[1]!.waitFor(/worker started/, 60_000),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await stopSims(simDir);
  await rm(simDir, { recursive: true, force: true });
  await ironic?.close();
  await keystone?.close();
  await redis?.destroy();
});

async function get(path: string, base = url): Promise<string> {
  const res = await fetch(`${base}${path}`, { headers: { 'X-Auth-Token': token } });
  expect(res.status, path).toBe(200);
  return res.text();
}

/** Every key and value in Redis, whatever its type. */
async function redisDump(): Promise<string> {
  const client = new Redis(redis.url);
  const out: string[] = [];
  for (const key of await client.keys('*')) {
    const type = await client.type(key);
    const value =
      type === 'string'
        ? await client.get(key)
        : type === 'hash'
          ? await client.hgetall(key)
          : type === 'list'
            ? await client.lrange(key, 0, -1)
            : type === 'set'
              ? await client.smembers(key)
              : type === 'zset'
                ? await client.zrange(key, 0, -1, 'WITHSCORES')
                : type === 'stream'
                  ? await client.xrange(key, '-', '+')
                  : null;
    out.push(`${key} ${JSON.stringify(value)}`);
  }
  await client.quit();
  return out.join('\n');
}

describe('secrets stay out of every output', () => {
  it('after a full credentials flow, no password or token is found anywhere', async () => {
    const node = ironic.node('node-0')!;
    const start = await fetch(
      `${url}/v1/introspection/${node.uuid}?new_ipmi_username=ironic&new_ipmi_password=${NEW_PASSWORD}`,
      { method: 'POST', headers: { 'X-Auth-Token': token } },
    );
    expect(start.status).toBe(202);
    await waitUntil(
      'waiting',
      async () => JSON.parse(await get(`/v1/introspection/${node.uuid}`)).state === 'waiting',
      60_000,
    );
    await ipmitool(port, 'admin', OLD_PASSWORD, 'chassis', 'bootdev', 'pxe');
    await ipmitool(port, 'admin', OLD_PASSWORD, 'power', 'on');
    const final = await waitUntil(
      'finished',
      async () => {
        const s = JSON.parse(await get(`/v1/introspection/${node.uuid}`));
        return s.finished ? s : null;
      },
      90_000,
      250,
    );
    expect(final).toMatchObject({ state: 'finished', error: null });
    expect((await ipmitool(port, 'ironic', NEW_PASSWORD, 'power', 'status')).ok).toBe(true);

    const outputs: Record<string, string> = {
      'API log': procs[0]!.output.join('\n'),
      'worker log': procs[1]!.output.join('\n'),
      Redis: await redisDump(),
      dashboard: (await dashboardDump(url, { 'X-Auth-Token': token })).text,
      'API metrics': await get('/metrics'),
      'worker metrics': await get('/metrics', await workerHttpUrl(procs[1]!)),
      'API bodies': [
        await get(`/v1/introspection/${node.uuid}`),
        await get('/v1/introspection'),
        await get(`/v1/introspection/${node.uuid}/data`),
        await get(`/v1/introspection/${node.uuid}/data/unprocessed`),
      ].join('\n'),
    };
    // The searches would find something: each output is real and non-trivial.
    expect(outputs['worker log']).toContain(node.uuid);
    expect(outputs.Redis).toContain(node.uuid);
    for (const [where, text] of Object.entries(outputs)) {
      for (const secret of [OLD_PASSWORD, NEW_PASSWORD, token]) {
        expect(text.includes(secret), `${where} contains a secret`).toBe(false);
      }
    }
  }, 180_000);

  it('a Redis refusing the run that carries a new password answers 503 and logs no password', async () => {
    const node = ironic.node('node-0')!;
    const password = 'OomPw5521';
    const admin = new Redis(redis.url);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    try {
      const res = await fetch(
        `${url}/v1/introspection/${node.uuid}?new_ipmi_username=ironic&new_ipmi_password=${password}`,
        { method: 'POST', headers: { 'X-Auth-Token': token } },
      );
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).not.toBeNull();
      expect(await res.text()).not.toContain(password);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await admin.quit();
    }
    const apiLog = procs[0]!.output.join('\n');
    expect(apiLog).toContain('OOM command not allowed');
    expect(apiLog.includes(password), 'API log contains the password').toBe(false);
  }, 60_000);
});
