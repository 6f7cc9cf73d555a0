import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@inspector/shared';
import { enrollNode } from '../../apps/api/src/enroll-node.ts';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

/**
 * Discovery (NODE_NOT_FOUND_HOOK=enroll): a ramdisk callback from a machine
 * Ironic does not know creates its node in the fake Ironic, which is then
 * processed as any other; a machine Ironic knows by a port or a BMC address
 * is refused, and so is a second enrolment of one machine.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack(
    {
      NODE_NOT_FOUND_HOOK: 'enroll',
      ENROLL_NODE_FIELDS: JSON.stringify({
        resource_class: 'discovered',
        driver_info: { ipmi_username: 'admin', ipmi_password: 'enroll-secret' },
      }),
    },
    { nodes: 0 },
  );
});
afterEach(async () => {
  stack.ironic.faults.clear();
  expect((await api(stack, 'DELETE', '/v1/rules')).status).toBe(204);
});
afterAll(() => stack?.close());

const HEADER = 'The following failures happened during running pre-processing hooks';

/** What machine `index` (unknown to Ironic) posts from its ramdisk. */
const callback = (index: number) => postRamdiskData(stack.url, buildRamdiskData(nodeSpec(index)));

/** Ironic refuses the next node creation (400, `message`): what machine `index` is told. */
async function refusedCreation(index: number, message: string): Promise<string> {
  stack.ironic.faults.add({ method: 'POST', path: '/v1/nodes', status: 400, message, times: 1 });
  const reply = await callback(index);
  expect(reply.status).toBe(400);
  return (reply.body as { error: { message: string } }).error.message;
}

/** Nodes the fake Ironic has with this BMC address. */
const nodesWithBmc = (address: string) =>
  [...stack.ironic.state.nodes.values()].filter((n) => n.driver_info.ipmi_address === address);

describe('discovery', () => {
  it('enrols a machine Ironic does not know, processes it and powers it off', async () => {
    const spec = nodeSpec(1);
    expect(
      (
        await api(stack, 'POST', '/v1/rules', {
          conditions: [{ op: 'eq', field: 'data://auto_discovered', value: true }],
          actions: [{ action: 'set-attribute', path: '/extra/discovered', value: 'yes' }],
        })
      ).status,
    ).toBe(201);

    const reply = await callback(1);
    expect(reply.status).toBe(200);
    const uuid = (reply.body as { uuid: string }).uuid;
    expect(uuid).not.toBe(spec.uuid);

    const node = stack.ironic.node(uuid)!;
    expect(node).toMatchObject({
      driver: 'fake-hardware',
      resource_class: 'discovered',
      provision_state: 'enroll',
      driver_info: {
        ipmi_address: spec.bmcAddress,
        ipmi_username: 'admin',
        ipmi_password: 'enroll-secret',
      },
    });
    expect(await finishedStatus(stack, uuid)).toMatchObject({ state: 'finished', error: null });
    expect(node.properties).toMatchObject({ cpus: '8', memory_mb: '16384', cpu_arch: 'x86_64' });
    expect(node.extra).toMatchObject({ discovered: 'yes' });
    expect(node.power_state).toBe('power off');
    expect(stack.ironic.portsOf(uuid).map((p) => [p.address, p.pxe_enabled])).toEqual([
      [spec.macs[0], true],
    ]);
    const data = await api(stack, 'GET', `/v1/introspection/${uuid}/data`);
    expect(data.body).toMatchObject({ auto_discovered: true, ipmi_address: spec.bmcAddress });
    // The password given in ENROLL_NODE_FIELDS stays out of what the service keeps of the run.
    const kept = await stack.store.get(uuid);
    expect(JSON.stringify(kept)).not.toContain('enroll-secret');
    // Ops see discoveries apart from the runs operators start.
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/^inspector_introspections_started_total\{kind="discover"\} 1$/m);
    expect(metrics).not.toContain('enroll-secret');
  });

  it('refuses a machine once a port has its MAC: it is known now', async () => {
    const spec = nodeSpec(2);
    const first = await callback(2);
    expect(first.status).toBe(200);
    const uuid = (first.body as { uuid: string }).uuid;
    await finishedStatus(stack, uuid);
    const port = stack.ironic.portsOf(uuid)[0]!;

    const again = await callback(2);
    expect(again).toEqual({
      status: 400,
      body: {
        error: {
          message: `${HEADER}:\nNode not found hook failed: Port ${spec.macs[0]} already exists, uuid: ${port.uuid}`,
        },
      },
    });
    expect(nodesWithBmc(spec.bmcAddress)).toHaveLength(1);
  });

  it('refuses a machine whose BMC address a node in Ironic has, without ports', async () => {
    const known = stack.ironic.addNode({ index: 3, macs: [] });
    const reply = await callback(3);
    expect(reply.status).toBe(400);
    expect((reply.body as any).error.message).toBe(
      `${HEADER}:\nNode not found hook failed: Node ${known.uuid} already has BMC address ${nodeSpec(3).bmcAddress}`,
    );
    expect(nodesWithBmc(nodeSpec(3).bmcAddress)).toHaveLength(1);
  });

  it('enrols a machine once when its callbacks come together', async () => {
    const spec = nodeSpec(4);
    const replies = await Promise.all([callback(4), callback(4), callback(4)]);
    const accepted = replies.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);
    // The others met the claim on the machine, or found its run already taken.
    for (const r of replies.filter((r) => r.status !== 200)) {
      expect([400, 403]).toContain(r.status);
    }
    expect(nodesWithBmc(spec.bmcAddress)).toHaveLength(1);
    const uuid = (accepted[0]!.body as { uuid: string }).uuid;
    expect(await finishedStatus(stack, uuid)).toMatchObject({ state: 'finished' });
  });

  it('passes Ironic refusing the node on to the ramdisk, and keeps nothing', async () => {
    expect(await refusedCreation(5, 'Cannot create node: no such resource class')).toContain(
      'Node not found hook failed: Create node failed: HTTP 400: Cannot create node: no such resource class',
    );
    expect(nodesWithBmc(nodeSpec(5).bmcAddress)).toHaveLength(0);
    // Nothing was claimed for good: the ramdisk's next callback enrols the machine.
    expect((await callback(5)).status).toBe(200);
  });

  it('answers 503 while Ironic cannot create the node, and enrols it on a later callback', async () => {
    stack.ironic.faults.add({ method: 'POST', path: '/v1/nodes', status: 503 });
    const reply = await callback(6);
    expect(reply.status).toBe(503);
    expect(nodesWithBmc(nodeSpec(6).bmcAddress)).toHaveLength(0);
    stack.ironic.faults.clear();
    const later = await callback(6);
    expect(later.status).toBe(200);
    const uuid = (later.body as { uuid: string }).uuid;
    expect(await finishedStatus(stack, uuid)).toMatchObject({ state: 'finished' });
  });

  it('takes up the node of a discovery whose answer from Ironic was lost, on the next callback', async () => {
    // Ironic creates the node, then the answer is lost: the ramdisk gets a 503 and retries.
    stack.ironic.faults.add({
      method: 'POST',
      path: '/v1/nodes',
      status: 502,
      afterApply: true,
      times: 1,
    });
    const first = await callback(8);
    expect(first.status).toBe(503);
    const [orphan] = nodesWithBmc(nodeSpec(8).bmcAddress);
    expect(orphan?.provision_state).toBe('enroll');

    const retry = await callback(8);
    expect(retry).toEqual({ status: 200, body: { uuid: orphan!.uuid } });
    expect(await finishedStatus(stack, orphan!.uuid)).toMatchObject({ state: 'finished' });
    expect(nodesWithBmc(nodeSpec(8).bmcAddress)).toHaveLength(1);
  });

  it('processes a run left enrolling when any callback of the machine brings its data', async () => {
    // A discovery that started the run, then failed before taking the data in (Redis, a crash).
    const { uuid } = stack.ironic.addNode({ macs: [], provisionState: 'enroll' });
    const spec = nodeSpec(9);
    await stack.store.start({
      uuid,
      bmc: [spec.bmcAddress],
      macs: [...spec.macs],
      manageBoot: true,
      reqId: 'r',
      discovered: true,
    });
    expect(await callback(9)).toEqual({ status: 200, body: { uuid } });
    expect(await finishedStatus(stack, uuid)).toMatchObject({ state: 'finished', error: null });
  });

  it('gives a discovered node only an IP address the machine reports as its BMC', async () => {
    const spec = nodeSpec(10);
    const reply = await postRamdiskData(
      stack.url,
      buildRamdiskData(spec, { bmcAddress: 'https://bmc.attacker.example:8443/x' }),
    );
    expect(reply.status).toBe(200);
    const node = stack.ironic.node((reply.body as { uuid: string }).uuid)!;
    expect(node.driver_info).not.toHaveProperty('ipmi_address');
  });

  it("keeps ENROLL_NODE_FIELDS' values out of what the ramdisk is told", async () => {
    const told = await refusedCreation(11, "Invalid driver_info: password 'enroll-secret' refused");
    expect(told).not.toContain('enroll-secret');
    expect(told).toContain("password '***' refused");
  });

  it('looks the machine up again once it holds the claim: another callback may have enrolled it', async () => {
    // As a callback that found nothing just before another one's discovery started its run.
    const spec = nodeSpec(12);
    const { uuid } = stack.ironic.addNode({ macs: [], provisionState: 'enroll' });
    await stack.store.start({
      uuid,
      bmc: [spec.bmcAddress],
      macs: [spec.macs[0]!],
      manageBoot: true,
      reqId: 'r',
      discovered: true,
    });
    const deps = { config: stack.config, ironic: stack.worker.ironic, store: stack.store };
    const attrs = { bmc_address: [spec.bmcAddress], mac: [...spec.macs] };
    const data = { ipmi_address: spec.bmcAddress, ipmi_v6address: null };
    expect(await enrollNode(deps, data, attrs, 'r', createLogger('silent', 'test'))).toBe(uuid);
    expect(nodesWithBmc(spec.bmcAddress)).toHaveLength(0);
  });

  it('enrols nothing for data the hooks refuse', async () => {
    const reply = await postRamdiskData(
      stack.url,
      buildRamdiskData(nodeSpec(7), { error: 'the ramdisk failed' }),
    );
    expect(reply.status).toBe(400);
    expect((reply.body as any).error.message).toContain('the ramdisk failed');
    expect(nodesWithBmc(nodeSpec(7).bmcAddress)).toHaveLength(0);
  });
});

/** For a describe block: a stack of its own, discovery on, with `env` on top. */
function discoveryStack(env: Record<string, string>): () => Stack {
  let own: Stack;
  beforeAll(async () => {
    own = await startStack({ NODE_NOT_FOUND_HOOK: 'enroll', ...env }, { nodes: 0 });
  });
  afterAll(() => own?.close());
  return () => own;
}

describe('discovery where boot is not managed (CAN_MANAGE_BOOT=false)', () => {
  const stackOf = discoveryStack({ CAN_MANAGE_BOOT: 'false' });

  it('enrols and processes the machine, and leaves its power alone', async () => {
    const unmanaged = stackOf();
    const reply = await postRamdiskData(unmanaged.url, buildRamdiskData(nodeSpec(20)));
    expect(reply.status).toBe(200);
    const uuid = (reply.body as { uuid: string }).uuid;
    expect(await finishedStatus(unmanaged, uuid)).toMatchObject({ state: 'finished', error: null });
    // No power or boot-device call: the node stays as Ironic made it.
    expect(
      unmanaged.ironic.calls({ node: uuid, pathRe: /\/states\/power|\/management\// }),
    ).toEqual([]);
    expect(unmanaged.ironic.calls({ node: uuid, method: 'PATCH' })).toHaveLength(1);
  });
});

describe('discoveries at once (DISCOVERY_CONCURRENCY=1)', () => {
  const stackOf = discoveryStack({ DISCOVERY_CONCURRENCY: '1' });

  it('answers 503 past the limit, at once, and the machine is enrolled on a later callback', async () => {
    const one = stackOf();
    // The first discovery holds the only place while Ironic takes its time creating the node.
    one.ironic.faults.add({ method: 'POST', path: '/v1/nodes', delayMs: 1_000, times: 1 });
    const post = (index: number) => postRamdiskData(one.url, buildRamdiskData(nodeSpec(index)));
    const replies = await Promise.all([post(30), post(31)]);
    const refused = replies.findIndex((r) => r.status === 503);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 503]);
    expect(replies[refused]!.body).toEqual({
      error: { message: 'Too many discoveries in progress (DISCOVERY_CONCURRENCY=1), retry later' },
    });
    expect(one.ironic.calls({ method: 'POST', pathname: '/v1/nodes' })).toHaveLength(1);
    expect((await post(30 + refused)).status).toBe(200);
  });
});
