import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSpec, type NodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { waitUntil } from '../helpers/processes.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

/** New IPMI credentials set through the ramdisk, with power through Ironic (upstream case 17). */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack(
    {
      ENABLE_SETTING_IPMI_CREDENTIALS: 'true',
      CREDENTIALS_CHECK_ATTEMPTS: '3',
      CREDENTIALS_CHECK_INTERVAL_MS: '10',
    },
    { nodes: 0 },
  );
});
afterAll(() => stack?.close());

/** Starts with new credentials and posts the ramdisk's data (no boot: credentials skip it). */
async function introspectWithNewCredentials(spec: NodeSpec, on: Stack = stack): Promise<void> {
  on.onBoot = () => null;
  const started = await api(
    on,
    'POST',
    `/v1/introspection/${spec.uuid}?new_ipmi_username=ironic&new_ipmi_password=N3wSecret`,
  );
  expect(started.status).toBe(202);
  await waitUntil('waiting', async () =>
    (await on.store.get(spec.uuid))?.state === 'waiting' ? true : null,
  );
  expect((await postRamdiskData(on.url, buildRamdiskData(spec))).status).toBe(200);
}

describe('new IPMI credentials through Ironic', () => {
  it('are tried exactly CREDENTIALS_CHECK_ATTEMPTS times, one Ironic read each, and nothing powers the node off', async () => {
    const spec = nodeSpec(1);
    stack.ironic.addNode({ index: 1, maintenance: true });
    // Ironic answers 500 when it cannot log in to the BMC: a retry of that read is one more login.
    const reads = { node: spec.uuid, method: 'GET', path: /management\/boot_device$/ };
    stack.ironic.faults.add({ ...reads, status: 500 });
    await introspectWithNewCredentials(spec);
    const final = await finishedStatus(stack, spec.uuid);
    expect(final).toMatchObject({
      state: 'error',
      error: `Failed to validate updated IPMI credentials for node ${spec.uuid}, node might require maintenance`,
    });
    const checks = stack.ironic.calls({ node: spec.uuid, method: 'GET', pathRe: /boot_device/ });
    expect(checks).toHaveLength(3);
    // Nothing powered it off: a node whose BMC refuses the new credentials is left as it is.
    expect(stack.ironic.calls({ node: spec.uuid, method: 'PUT', pathRe: /states\/power/ })).toEqual(
      [],
    );
    expect(stack.ironic.node(spec.uuid)!.driver_info.ipmi_username).toBe('ironic');
  });

  it.each([
    ['names the BMC address the ramdisk saw when the node has none', {}, true],
    ['leaves the BMC address alone when the node has one of another kind', { ilo: true }, false],
  ])('%s', async (_, { ilo }: { ilo?: boolean }, added) => {
    const spec = nodeSpec(ilo ? 3 : 2);
    const { ipmi_address: _ipmi, ...rest } = spec.driverInfo;
    stack.ironic.addNode({
      index: spec.index,
      maintenance: true,
      ...(ilo
        ? { driver: 'fake-hardware', driverInfo: { ...rest, ilo_address: spec.bmcAddress } }
        : {}),
      ...(ilo ? {} : { driverInfo: rest }),
    });
    await introspectWithNewCredentials(spec);
    expect(await finishedStatus(stack, spec.uuid)).toMatchObject({
      state: 'finished',
      error: null,
    });
    const patched = stack.ironic
      .calls({ node: spec.uuid, method: 'PATCH' })
      .flatMap((c) => c.body as { path: string; value?: unknown }[])
      .filter((op) => op.path === '/driver_info/ipmi_address');
    expect(patched).toEqual(
      added ? [{ op: 'add', path: '/driver_info/ipmi_address', value: spec.bmcAddress }] : [],
    );
  });
});

describe('new IPMI credentials with POWER_OFF=false', () => {
  let quiet: Stack;
  beforeAll(async () => {
    quiet = await startStack(
      { ENABLE_SETTING_IPMI_CREDENTIALS: 'true', POWER_OFF: 'false' },
      { nodes: 0 },
    );
  });
  afterAll(() => quiet?.close());

  it('are set and checked, and the node is left powered on', async () => {
    const spec = nodeSpec(4);
    quiet.ironic.addNode({ index: 4, maintenance: true });
    quiet.ironic.setPowerState(spec.uuid, 'power on');
    await introspectWithNewCredentials(spec, quiet);
    expect(await finishedStatus(quiet, spec.uuid)).toMatchObject({ state: 'finished' });
    expect(quiet.ironic.node(spec.uuid)!.driver_info.ipmi_username).toBe('ironic');
    expect(quiet.ironic.calls({ node: spec.uuid, method: 'PUT', pathRe: /states\/power/ })).toEqual(
      [],
    );
    expect(quiet.ironic.node(spec.uuid)!.power_state).toBe('power on');
  });
});
