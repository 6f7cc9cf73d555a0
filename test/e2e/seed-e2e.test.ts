import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSpec, startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { startProcessStack, type ProcessStack } from '../helpers/process-stack.ts';
import { waitUntil } from '../helpers/processes.ts';
import { api, finishedStatus } from '../helpers/stack.ts';

const NODES = 20;
let ironic: FakeIronic;
let stack: ProcessStack;
let url: string;

beforeAll(async () => {
  ironic = await startFakeIronic({ nodes: NODES + 5 });
  // Every other node sends the seed form, so both forms cross the real processes.
  stack = await startProcessStack(ironic, {
    ramdisk: (node) => ({ form: node.fake.index! % 2 ? 'seed' : 'inventory' }),
  });
  url = stack.url;
});

afterAll(async () => {
  await stack?.stop();
  await ironic?.close();
});

describe('API and worker as separate processes', () => {
  it(`introspects ${NODES} nodes end to end`, async () => {
    const specs = Array.from({ length: NODES }, (_, i) => nodeSpec(i));
    const starts = await Promise.all(
      specs.map((s) => api({ url }, 'POST', `/v1/introspection/${s.uuid}`)),
    );
    expect(starts.map((s) => s.status)).toEqual(specs.map(() => 202));

    const finals = await Promise.all(specs.map((s) => finishedStatus({ url }, s.uuid)));
    for (const [i, spec] of specs.entries()) {
      expect(finals[i]).toMatchObject({ uuid: spec.uuid, state: 'finished', error: null });
      const node = ironic.node(spec.uuid)!;
      expect(node.properties).toMatchObject({ cpus: '8', cpu_arch: 'x86_64', memory_mb: '16384' });
      expect(node.properties.local_gb).toBe('99');
      expect(node.power_state).toBe('power off');
      expect(
        ironic
          .portsOf(spec.uuid)
          .map((p) => p.address)
          .sort(),
      ).toEqual([...spec.macs].sort());
    }
    const list = await api({ url }, 'GET', '/v1/introspection?limit=5');
    expect(list.body.introspection).toHaveLength(5);
  });

  it('answers each error status of the seed API', async () => {
    const unknown = '5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716';
    const active = ironic.addNode({ index: 300, provisionState: 'active' });
    const invalid = ironic.addNode({ index: 301, failValidation: 'no password' });
    const cases: [string, string, unknown, number][] = [
      ['POST', '/v1/introspection/not%20a%20uuid', undefined, 400],
      ['POST', `/v1/introspection/${unknown}`, undefined, 404],
      ['POST', `/v1/introspection/${active.uuid}`, undefined, 400],
      ['POST', `/v1/introspection/${invalid.uuid}`, undefined, 400],
      ['GET', `/v1/introspection/${unknown}`, undefined, 404],
      ['GET', '/v1/introspection/not%20a%20uuid', undefined, 400],
      ['POST', '/v1/continue', '{"broken', 400],
      ['POST', '/v1/continue', { cpus: 'many' }, 400],
      ['POST', '/v1/continue', buildRamdiskData(nodeSpec(900)), 404],
      // A finished node is no longer in the lookup index: its late callback finds nothing.
      ['POST', '/v1/continue', buildRamdiskData(nodeSpec(0)), 404],
      ['GET', '/v1/no-such-thing', undefined, 404],
    ];
    for (const [method, path, body, expected] of cases) {
      const res = await api({ url }, method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: expected });
      expect(typeof res.body.error.message).toBe('string');
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
    }
  });

  it('answers 403 to a callback for a node that is no longer waiting', async () => {
    const spec = nodeSpec(NODES + 1);
    ironic.onPowerOn = undefined;
    ironic.faults.add({ node: spec.uuid, method: 'PATCH', delayMs: 1500 });
    await api({ url }, 'POST', `/v1/introspection/${spec.uuid}`);
    await waitUntil('waiting', async () => {
      const res = await api({ url }, 'GET', `/v1/introspection/${spec.uuid}`);
      return res.body.state === 'waiting';
    });
    const data = buildRamdiskData(spec);
    expect((await postRamdiskData(url, data)).status).toBe(200);
    expect((await postRamdiskData(url, data)).status).toBe(403);
  });
});
