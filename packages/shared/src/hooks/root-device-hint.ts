import type { Hook } from './types.ts';

/**
 * Learns the root disk across two runs: the first records the disks' serials
 * in `extra.block_devices`; after RAID is built, the second finds the one new
 * serial and makes it the root device hint.
 */
export const rootDeviceHint: Hook = {
  name: 'root_device_hint',
  // As upstream: a node whose disks are not yet built (no root disk, no size) still gets a
  // local_gb for the scheduler, which is why this hook is listed before `scheduler`.
  beforeProcessing(data) {
    if (!data.local_gb) data.local_gb = 1;
  },
  beforeUpdate(data, node, _ports, plan, ctx) {
    if (!data.block_devices) {
      ctx.warn('No block device was received from the ramdisk');
      return;
    }
    if (node.properties?.root_device) return;
    const previous = node.extra?.block_devices as { serials?: unknown } | undefined;
    if (!previous) {
      plan.nodePatches.push({ op: 'add', path: '/extra/block_devices', value: data.block_devices });
      return;
    }
    const before = new Set(Array.isArray(previous.serials) ? previous.serials : []);
    const added = data.block_devices.serials.filter((s) => !before.has(s));
    if (added.length !== 1) {
      ctx.warn(`Expected exactly one new block device, found ${added.length}: root device not set`);
      return;
    }
    plan.nodePatches.push(
      { op: 'remove', path: '/extra/block_devices' },
      { op: 'add', path: '/properties/root_device', value: { serial: added[0] } },
    );
  },
};
