import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSpec, type FaultRule } from '../fixtures/fake-ironic.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

/**
 * Ironic carried a call out but its answer was lost (the connection cut, a
 * timeout, a proxy's 502). A call that must not happen twice is not sent again
 * as it was: its step starts over from what Ironic now holds, within the job
 * and then in the job's own retries. One Ironic refused without acting (409
 * locked, its own 503) is sent again.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack(
    { PROCESSING_HOOKS: 'ramdisk_error,scheduler,validate_interfaces,root_device_hint' },
    { nodes: 0 },
  );
});
afterAll(() => stack?.close());

const REBOOT = { method: 'PUT', path: /\/states\/power$/ };
const LOST = { reset: true, afterApply: true };

/** Introspects the node with `fault` in Ironic (once by default): the run must still finish, without error. */
async function finishesDespite(uuid: string, fault: FaultRule): Promise<void> {
  const handle = stack.ironic.faults.add({ node: uuid, times: 1, ...fault });
  expect((await api(stack, 'POST', `/v1/introspection/${uuid}`)).status).toBe(202);
  expect(await finishedStatus(stack, uuid)).toMatchObject({ state: 'finished', error: null });
  expect(handle.hits).toBe(fault.times ?? 1);
}

/**
 * The second of upstream's two runs for a root device hint, its node update hit by `fault`: once
 * RAID added a disk, the update removes the serials the first run kept and names the new disk,
 * so an update sent twice as it was would fail on its own `remove`.
 */
async function secondHintRunDespite(index: number, fault: FaultRule) {
  const spec = nodeSpec(index);
  stack.ironic.addNode({ index, extra: { block_devices: { serials: [spec.diskSerials[0]] } } });
  await finishesDespite(spec.uuid, { method: 'PATCH', ...fault });
  const node = stack.ironic.node(spec.uuid)!;
  expect(node.properties.root_device).toEqual({ serial: spec.diskSerials[1] });
  expect(node.extra.block_devices).toBeUndefined();
  return node;
}

/** More than JOB_ATTEMPTS (3): only starting the step over within the job gets past them. */
const OUTAGE = { reset: true, times: 5 };
const pxeSets = (uuid: string) =>
  stack.ironic.calls({ node: uuid, method: 'PUT', pathRe: /\/management\/boot_device$/ }).length;

describe('answers Ironic lost after acting', () => {
  it('a reboot is not sent again on its own: the retry sets PXE boot first', async () => {
    const spec = nodeSpec(0);
    // A node deployed before: without the one-time PXE boot device, it boots from its disk.
    stack.ironic.addNode({ index: 0, bootDevice: 'disk' });
    await finishesDespite(spec.uuid, { ...REBOOT, ...LOST });
    const boots = stack.ironic.node(spec.uuid)!.fake.boots;
    expect(boots.length).toBeGreaterThanOrEqual(1);
    expect(boots.map((b) => b.bootDevice)).toEqual(boots.map(() => 'pxe'));
  });

  it('a node update is not sent again on its own: the retry recomputes it from the node', async () => {
    await secondHintRunDespite(1, LOST);
  });

  it('a reboot Ironic refused with its own 503 is sent again at once, and boots once', async () => {
    const spec = nodeSpec(2);
    stack.ironic.addNode({ index: 2, bootDevice: 'disk' });
    await finishesDespite(spec.uuid, {
      ...REBOOT,
      status: 503,
      message: 'Requested action cannot be performed due to lack of free conductor workers.',
    });
    const node = stack.ironic.node(spec.uuid)!;
    expect(node.fake.boots.map((b) => b.bootDevice)).toEqual(['pxe']);
    // Sent again by the client itself: the one-time PXE boot device was set once.
    expect(
      stack.ironic.calls({ node: spec.uuid, method: 'PUT', pathRe: /\/management\/boot_device$/ }),
    ).toHaveLength(1);
  });

  it('a reboot lost more times than the job has attempts starts over within it, PXE set each time', async () => {
    const spec = nodeSpec(3);
    stack.ironic.addNode({ index: 3, bootDevice: 'disk' });
    await finishesDespite(spec.uuid, { ...REBOOT, ...OUTAGE });
    expect(stack.ironic.node(spec.uuid)!.fake.boots.map((b) => b.bootDevice)).toEqual(['pxe']);
    expect(pxeSets(spec.uuid)).toBe(OUTAGE.times + 1);
  });

  it('a node update lost more times than the job has attempts is computed again within it', async () => {
    expect((await secondHintRunDespite(4, OUTAGE)).fake.boots).toHaveLength(1);
  });
});
