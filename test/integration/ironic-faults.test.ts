import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { freePort, waitUntil } from '../helpers/processes.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

/**
 * Ironic misbehaving: every call is bounded (timeout, a few retries with
 * back-off), then the run ends in error naming the operation; other nodes go on.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack(
    {
      IRONIC_TIMEOUT_MS: '300',
      IRONIC_RETRY_ATTEMPTS: '3',
      IRONIC_RETRY_DELAY_MS: '20',
      JOB_ATTEMPTS: '2',
    },
    { nodes: 20 },
  );
});
afterAll(() => stack?.close());
beforeEach(() => stack.ironic.faults.clear());

const finished = (uuid: string) => finishedStatus(stack, uuid);

describe('Ironic faults', () => {
  it('a hanging Ironic: every call times out, the run ends in error naming the call, the slot is freed', async () => {
    const spec = nodeSpec(0);
    stack.ironic.faults.add({ node: spec.uuid, path: /boot_device/, hang: true });
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    const final = await finished(spec.uuid);
    expect(final.state).toBe('error');
    expect(final.error).toContain(`Failed to set boot device to PXE for node ${spec.uuid}`);
    expect(final.error).toContain('no answer within 300 ms');
    // 2 job attempts x 3 calls each, then nothing more.
    expect(stack.ironic.calls({ node: spec.uuid, pathRe: /boot_device/ })).toHaveLength(6);
    const other = nodeSpec(1);
    await api(stack, 'POST', `/v1/introspection/${other.uuid}`);
    expect(await finished(other.uuid)).toMatchObject({ state: 'finished' });
  });

  it('a node locked for good (409): bounded retries, then an error saying so', async () => {
    const spec = nodeSpec(2);
    stack.ironic.faults.add({ node: spec.uuid, method: 'PATCH', status: 409 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const final = await finished(spec.uuid);
    expect(final.state).toBe('error');
    expect(final.error).toContain(`Update node ${spec.uuid} failed: HTTP 409`);
    expect(final.error).toContain('is locked');
    expect(stack.ironic.calls({ node: spec.uuid, method: 'PATCH' })).toHaveLength(6);
  });

  it("a 409 refusing the act for good: no retry, the error is Ironic's", async () => {
    const spec = nodeSpec(10);
    const refusal = `Node ${spec.uuid} is associated with instance 4c5f0a3e-0000-4000-8000-000000000001.`;
    stack.ironic.faults.add({ node: spec.uuid, method: 'PATCH', status: 409, message: refusal });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const final = await finished(spec.uuid);
    expect(final.state).toBe('error');
    expect(final.error).toContain(refusal);
    expect(stack.ironic.calls({ node: spec.uuid, method: 'PATCH' })).toHaveLength(1);
  });

  it("a power-off Ironic accepts and its conductor fails: the run ends with Ironic's error", async () => {
    const spec = nodeSpec(11);
    stack.onBoot = (node) => {
      stack.ironic.failPower(node.uuid, 'IPMI call failed: power off.');
      return {};
    };
    try {
      await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
      const final = await finished(spec.uuid);
      expect(final.state).toBe('error');
      expect(final.error).toContain(`Failed to power off node ${spec.uuid}`);
      expect(final.error).toContain(
        "Failed to change power state to 'power off': IPMI call failed",
      );
      // Read back once, not polled for the two minutes a power-off may take.
      expect(
        stack.ironic.calls({ node: spec.uuid, method: 'GET', pathRe: /nodes\/[^/]+\?/ }).length,
      ).toBeLessThan(5);
    } finally {
      stack.onBoot = () => ({});
      stack.ironic.failPower(spec.uuid, null);
    }
  });

  it('transient 5xx and a slow Ironic are absorbed', async () => {
    const spec = nodeSpec(3);
    // One for the API's two attempts, two for a worker's three.
    stack.ironic.faults.add({ node: spec.uuid, method: 'GET', status: [500, 502, 503], times: 1 });
    const patches = stack.ironic.faults.add({
      node: spec.uuid,
      method: 'PATCH',
      status: 503,
      times: 2,
    });
    stack.ironic.faults.add({ node: spec.uuid, delayMs: 150 });
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished', error: null });
    expect(patches.hits).toBe(2);
  });

  it('Ironic down when the API is asked to start: 503 naming the call, nothing stored', async () => {
    const spec = nodeSpec(4);
    stack.ironic.faults.add({ node: spec.uuid, status: 503 });
    const res = await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    expect(res.status).toBe(503);
    expect(res.body.error.message).toContain(`Get node ${spec.uuid} failed: HTTP 503`);
    expect(res.headers.get('retry-after')).toBe('5');
    // The API's own attempts (API_IRONIC_RETRY_ATTEMPTS, 2), not the workers' 3: the caller is
    // waiting, and has Retry-After to go by.
    expect(stack.ironic.calls({ node: spec.uuid, method: 'GET' })).toHaveLength(2);
    expect((await api(stack, 'GET', `/v1/introspection/${spec.uuid}`)).status).toBe(404);
  });

  it('Ironic refusing connections when the API is asked to start: 503 naming Ironic, not Redis', async () => {
    const nowhere = await startStack({
      IRONIC_URL: `http://127.0.0.1:${await freePort()}`,
      IRONIC_RETRY_ATTEMPTS: '1',
    });
    try {
      const spec = nodeSpec(6);
      const res = await api(nowhere, 'POST', `/v1/introspection/${spec.uuid}`);
      expect(res.status).toBe(503);
      expect(res.body.error.message).toMatch(
        new RegExp(`^Get node ${spec.uuid} failed: Ironic unreachable: .*ECONNREFUSED`),
      );
      expect(res.body.error.message).not.toContain('Redis');
      expect((await api(nowhere, 'GET', `/v1/introspection/${spec.uuid}`)).status).toBe(404);
    } finally {
      await nowhere.close();
    }
  });

  it('a node deleted from Ironic while waiting ends in error at processing', async () => {
    const spec = nodeSpec(5);
    stack.onBoot = () => null;
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await waitUntil(
      'waiting',
      async () =>
        (await api(stack, 'GET', `/v1/introspection/${spec.uuid}`)).body.state === 'waiting',
    );
    stack.ironic.removeNode(spec.uuid);
    expect((await postRamdiskData(stack.url, buildRamdiskData(spec))).status).toBe(200);
    expect(await finished(spec.uuid)).toMatchObject({
      state: 'error',
      error: `Node ${spec.uuid} was not found in Ironic`,
    });
    stack.onBoot = () => ({});
  });
});
