import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RamdiskDataSchema } from '@inspector/shared';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { waitUntil } from '../helpers/processes.ts';
import { api, startStack, type Stack } from '../helpers/stack.ts';

/** The unauthenticated callback treats everything as hostile: limits, injection, pollution. */
let stack: Stack;
let logsDir: string;
const MAX_BODY = 1024 * 1024;

beforeAll(async () => {
  logsDir = await mkdtemp(path.join(tmpdir(), 'hostile-logs-'));
  stack = await startStack(
    { MAX_BODY_BYTES: String(MAX_BODY), RAMDISK_LOGS_DIR: logsDir },
    { nodes: 10 },
  );
});
afterAll(() => stack?.close());
beforeEach(() => {
  stack.onBoot = () => null;
});

const waiting = async (i: number) => {
  const spec = nodeSpec(i);
  await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
  await waitUntil('waiting', async () => (await stack.store.get(spec.uuid))?.state === 'waiting');
  return spec;
};

describe('limits', () => {
  it('a body over MAX_BODY_BYTES is a 413 naming the limit', async () => {
    const huge = JSON.stringify({ logs: 'A'.repeat(MAX_BODY) });
    const res = await api(stack, 'POST', '/v1/continue', huge);
    expect(res.status).toBe(413);
    expect(res.body.error.message).toBe(
      `Request body exceeds the limit of ${MAX_BODY} bytes (MAX_BODY_BYTES)`,
    );
  });

  it('JSON nested too deep is a 400 naming the limit', async () => {
    const deep = '['.repeat(40) + ']'.repeat(40);
    const res = await api(stack, 'POST', '/v1/continue', `{"data": ${deep}}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe('Request body is nested deeper than 32 levels');
  });

  it('a body of countless tiny entries is a 400 naming the limit', async () => {
    // 110,001 keys in 920 KiB: each costs the checks that follow as much as a real one.
    const keys = Array.from({ length: 110_001 }, (_, i) => `"${i.toString(36)}":0`).join(',');
    const lists = `[${'[],'.repeat(110_000)}[]]`;
    for (const body of [`{${keys}}`, `{"inventory": {"cpu": {"flags": ${lists}}}}`]) {
      expect(body.length).toBeLessThan(MAX_BODY);
      const res = await api(stack, 'POST', '/v1/continue', body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe(
        'Request body holds more than 100000 keys and nested objects or lists in all',
      );
    }
  });

  it('plain values in lists count as nothing: only what the checks pay for one by one', async () => {
    const spec = await waiting(9);
    // 110,000 plain values where the schema passes data through (extra hardware data).
    const data = { ...buildRamdiskData(spec), data: Array.from({ length: 110_000 }, () => 0) };
    const res = await api(stack, 'POST', '/v1/continue', data);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ uuid: spec.uuid });
  });

  it('interfaces past the limit are a 400 naming the limit, before the schema checks each', async () => {
    const interfaces = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`i${i}`, {}]));
    const schema = vi.spyOn(RamdiskDataSchema, 'safeParse');
    try {
      const res = await api(stack, 'POST', '/v1/continue', { interfaces });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toBe('Invalid data: interfaces: at most 256 interfaces');
      expect(schema).not.toHaveBeenCalled();
    } finally {
      schema.mockRestore();
    }
  });

  it('an empty callback body, or a compressed one, is refused saying so', async () => {
    const empty = await api(stack, 'POST', '/v1/continue', '');
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toBe(
      'Invalid data: expected a JSON object, got an empty body',
    );
    const gzipped = await api(stack, 'POST', '/v1/continue', '{}', { 'Content-Encoding': 'gzip' });
    expect(gzipped.status).toBe(415);
    expect(gzipped.body.error.message).toBe(
      'Content-Encoding gzip is not supported: send the JSON body uncompressed',
    );
  });

  it.each([
    [
      'interfaces',
      { inventory: { interfaces: Array.from({ length: 257 }, (_, i) => ({ name: `e${i}` })) } },
      'inventory.interfaces',
    ],
    [
      'disks',
      { inventory: { disks: Array.from({ length: 1025 }, () => ({ name: 'd' })) } },
      'inventory.disks',
    ],
    ['a long string', { cpu_arch: 'x'.repeat(300) }, 'cpu_arch'],
    ['a huge number', { cpus: 1e300 }, 'cpus'],
    ['a non-base64 log', { logs: '<script>' }, 'logs'],
  ])('too many or too large %s is a 400 naming the field', async (_, body, field) => {
    const res = await api(stack, 'POST', '/v1/continue', body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(field);
  });
});

describe('the callback can only touch a node that waits for data', () => {
  it('data matching a node that is not on introspection, or finished, changes nothing', async () => {
    const idle = nodeSpec(1);
    const res = await postRamdiskData(stack.url, buildRamdiskData(idle));
    expect(res.status).toBe(404);
    expect(await stack.store.get(idle.uuid)).toBeNull();
    expect(stack.ironic.calls({ node: idle.uuid, method: 'PATCH' })).toEqual([]);
  });

  it('data matching a node still starting is refused and the node is untouched', async () => {
    const spec = nodeSpec(2);
    stack.ironic.faults.add({ node: spec.uuid, path: /boot_device/, delayMs: 1000, times: 1 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const before = await stack.store.get(spec.uuid);
    expect(before?.state).toBe('starting');
    const res = await postRamdiskData(stack.url, buildRamdiskData(spec));
    expect(res.status).toBe(403);
    expect((await stack.store.get(spec.uuid))?.gen).toBe(before!.gen);
    expect(await stack.store.getRaw(spec.uuid)).toBeNull();
  });

  it('lookup values are data, never code or keys: injection attempts find nothing', async () => {
    for (const bmc of ["' OR ''='", '*', '{inspector}:node:x', '\\u0000', 'a\r\nSET x y']) {
      const res = await api(stack, 'POST', '/v1/continue', {
        ipmi_address: bmc,
        interfaces: { eth0: { mac: '11:22:33:44:55:66', ip: '1.1.1.1' } },
        cpus: 1,
        cpu_arch: 'x',
        memory_mb: 1,
        local_gb: 1,
      });
      expect(res.status).toBe(404);
    }
  });

  it('prototype keys in the body are dropped, never merged', async () => {
    const spec = await waiting(3);
    const body = JSON.stringify(buildRamdiskData(spec)).replace(
      /^\{/,
      '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}},',
    );
    const res = await api(stack, 'POST', '/v1/continue', body);
    expect(res.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const raw = await stack.store.getRaw(spec.uuid);
    expect(raw).not.toContain('__proto__');
    expect(raw).not.toContain('polluted');
  });

  it('names of log files come from the node UUID, never from the ramdisk', async () => {
    const spec = await waiting(4);
    const data = buildRamdiskData(spec, { error: 'fail', logs: 'secret journal' });
    data.inventory = { ...(data.inventory as object), bmc_address: '../../../../tmp/evil' };
    const res = await postRamdiskData(stack.url, data);
    expect(res.status).toBe(400);
    const files = await waitUntil('log file', async () => {
      const names = await readdir(logsDir);
      return names.length ? names : null;
    });
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`^${spec.uuid}_\\d{8}-\\d{6}\\.\\d{6}\\.tar\\.gz$`));
  });
});
