import { describe, expect, it } from 'vitest';
import type { HookName } from '../config.ts';
import type { IronicNode, IronicPort } from '../ironic/types.ts';
import { RamdiskDataSchema, normalizeRamdiskData, type NormalizedData } from '../ramdisk-data.ts';
import { planUpdate, preprocess } from './pipeline.ts';
import type { HookContext, ProcessingConfig } from './types.ts';

/** Upstream's seed fixtures (INSPECTOR-BEHAVIOUR §4). */
const seedData = (): NormalizedData => ({
  cpus: 2,
  cpu_arch: 'x86_64',
  memory_mb: 1024,
  local_gb: 20,
  interfaces: {
    em1: { mac: '11:22:33:44:55:66', ip: '1.2.0.1' },
    em2: { mac: '66:55:44:33:22:11', ip: '1.2.0.2' },
    em3: { mac: 'DE:AD:BE:EF:DE:AD', ip: null },
  },
  ipmi_address: '1.2.3.4',
  ipmi_v6address: null,
  boot_interface: '01-66-55-44-33-22-11',
  error: null,
  block_devices: null,
});

const node: IronicNode = {
  uuid: '1a1a1a1a-2b2b-3c3c-4d4d-5e5e5e5e5e5e',
  provision_state: 'inspecting',
  driver_info: { ipmi_address: '1.2.3.4' },
  properties: { cpu_arch: 'i386', local_gb: 40 },
  extra: {},
};

function ctx(overrides: Partial<ProcessingConfig> = {}) {
  const warnings: string[] = [];
  const c: HookContext = {
    config: {
      ADD_PORTS: 'pxe',
      KEEP_PORTS: 'all',
      OVERWRITE_EXISTING: true,
      PROCESSING_HOOKS: ['ramdisk_error', 'scheduler', 'validate_interfaces'] as HookName[],
      ...overrides,
    },
    warn: (m) => warnings.push(m),
  };
  return { c, warnings };
}

const port = (uuid: string, address: string): IronicPort => ({ uuid, address });

describe('validate_interfaces', () => {
  it('keeps only the PXE interface given as BOOTIF (case 18)', () => {
    const { data, failures } = preprocess(seedData(), ctx().c);
    expect(failures).toEqual([]);
    expect(Object.keys(data.interfaces)).toEqual(['em2']);
    expect(Object.keys(data.all_interfaces)).toEqual(['em1', 'em2', 'em3']);
    expect(data.macs).toEqual(['66:55:44:33:22:11']);
  });

  it('accepts a plain MAC as boot interface, and falls back to interfaces with an IP (case 19)', () => {
    const plain = { ...seedData(), boot_interface: '66:55:44:33:22:11' };
    expect(preprocess(plain, ctx().c).data.macs).toEqual(['66:55:44:33:22:11']);
    const none = { ...seedData(), boot_interface: null };
    expect(preprocess(none, ctx().c).data.macs).toEqual(['11:22:33:44:55:66', '66:55:44:33:22:11']);
  });

  it('follows add_ports active and all (case 20)', () => {
    expect(preprocess(seedData(), ctx({ ADD_PORTS: 'active' }).c).data.macs).toHaveLength(2);
    expect(preprocess(seedData(), ctx({ ADD_PORTS: 'all' }).c).data.macs).toEqual([
      '11:22:33:44:55:66',
      '66:55:44:33:22:11',
      'de:ad:be:ef:de:ad',
    ]);
  });

  it('fails without interfaces, or with no valid MAC, and keeps the valid ones (case 22)', () => {
    const empty = preprocess({ ...seedData(), interfaces: {} }, ctx().c);
    expect(empty.failures).toEqual([
      'Preprocessing hook validate_interfaces: No interfaces supplied by the ramdisk',
    ]);
    const broken = {
      ...seedData(),
      boot_interface: null,
      interfaces: { a: { mac: 'broken', ip: '1.1.1.1' }, b: { mac: '', ip: '1.1.1.2' } },
    };
    expect(preprocess(broken, ctx().c).failures[0]).toContain('No valid interfaces found');
    const one = {
      ...broken,
      interfaces: { ...broken.interfaces, em1: { mac: '11:22:33:44:55:66', ip: '1.2.0.1' } },
    };
    expect(preprocess(one, ctx().c).data.macs).toEqual(['11:22:33:44:55:66']);
  });

  it('keeps an interface the ramdisk names __proto__ as any other', () => {
    const named = normalizeRamdiskData(
      RamdiskDataSchema.parse({
        inventory: {
          interfaces: [
            { name: '__proto__', mac_address: '66:55:44:33:22:11', ipv4_address: '1.2.0.2' },
            { name: 'em1', mac_address: '11:22:33:44:55:66', ipv4_address: '1.2.0.1' },
          ],
          cpu: { count: 2, architecture: 'x86_64' },
          memory: { physical_mb: 1024 },
        },
        boot_interface: '01-66-55-44-33-22-11',
      }),
    );
    expect(Object.keys(named.interfaces)).toEqual(['__proto__', 'em1']);
    const { data, failures } = preprocess(named, ctx().c);
    expect(failures).toEqual([]);
    expect(data.macs).toEqual(['66:55:44:33:22:11']);
    expect(Object.keys(data.all_interfaces)).toEqual(['__proto__', 'em1']);
    expect(Object.getPrototypeOf(data.all_interfaces)).toBe(Object.prototype);
  });

  it('creates missing ports only, the PXE one marked pxe_enabled', () => {
    const { data } = preprocess(
      { ...seedData(), boot_interface: null },
      ctx({ ADD_PORTS: 'all' }).c,
    );
    const plan = planUpdate(
      data,
      node,
      [port('p1', '11:22:33:44:55:66')],
      ctx({ ADD_PORTS: 'all' }).c,
    );
    expect(plan.createPorts).toEqual([
      { address: '66:55:44:33:22:11', pxe_enabled: true },
      { address: 'de:ad:be:ef:de:ad', pxe_enabled: true },
    ]);
  });

  it('deletes ports per keep_ports present and added (case 31)', () => {
    const ports = [
      port('p1', '11:22:33:44:55:66'),
      port('p2', '66:55:44:33:22:11'),
      port('p3', 'de:ad:be:ef:de:ad'),
      port('p4', '01:09:02:08:03:07'),
    ];
    const present = ctx({ KEEP_PORTS: 'present', ADD_PORTS: 'active' }).c;
    const { data } = preprocess({ ...seedData(), boot_interface: null }, present);
    expect(planUpdate(data, node, ports, present).deletePorts.map((p) => p.uuid)).toEqual(['p4']);
    const added = ctx({ KEEP_PORTS: 'added', ADD_PORTS: 'active' }).c;
    expect(planUpdate(data, node, ports, added).deletePorts.map((p) => p.uuid)).toEqual([
      'p3',
      'p4',
    ]);
  });

  it('makes missing ports on a node in use (a reapply), but deletes none', () => {
    const ports = [port('p1', '11:22:33:44:55:66'), port('p4', '01:09:02:08:03:07')];
    const added = ctx({ KEEP_PORTS: 'added', ADD_PORTS: 'active' }).c;
    const { data } = preprocess({ ...seedData(), boot_interface: null }, added);
    for (const provision_state of ['active', 'rescue']) {
      const plan = planUpdate(data, { ...node, provision_state }, ports, added);
      expect(plan.deletePorts).toEqual([]);
      expect(plan.createPorts.map((p) => p.address)).toEqual(['66:55:44:33:22:11']);
    }
    expect(planUpdate(data, node, ports, added).deletePorts.map((p) => p.uuid)).toEqual(['p4']);
  });

  it('sets pxe_enabled on existing ports to match the NIC the ramdisk booted from', () => {
    const ports: IronicPort[] = [
      { uuid: 'p1', address: '11:22:33:44:55:66', pxe_enabled: true },
      { uuid: 'p2', address: '66:55:44:33:22:11', pxe_enabled: false },
      { uuid: 'p3', address: 'DE:AD:BE:EF:DE:AD', pxe_enabled: false },
      { uuid: 'p4', address: '01:09:02:08:03:07', pxe_enabled: true },
    ];
    const { c } = ctx();
    const { data } = preprocess(seedData(), c);
    // p2 is the boot NIC; p4 is no NIC of this data, left as it is.
    expect(
      planUpdate(data, node, ports, c).pxePorts.map((p) => [p.port.uuid, p.pxe_enabled]),
    ).toEqual([
      ['p1', false],
      ['p2', true],
    ]);
    const keep = ctx({ OVERWRITE_EXISTING: false }).c;
    expect(planUpdate(data, node, ports, keep).pxePorts).toEqual([]);
    expect(planUpdate(data, { ...node, provision_state: 'active' }, ports, c).pxePorts).toEqual([]);
    // Without a boot interface the boot NIC is unknown: nothing changes.
    const unknown = preprocess({ ...seedData(), boot_interface: null }, c).data;
    expect(planUpdate(unknown, node, ports, c).pxePorts).toEqual([]);
  });

  it('never takes lo, or an interface with a loopback address, for a port', () => {
    const looped = {
      ...seedData(),
      boot_interface: null,
      interfaces: {
        lo: { mac: '00:00:00:00:00:01', ip: null },
        v4: { mac: '52:54:00:00:00:04', ip: '127.0.1.1' },
        v6: { mac: '52:54:00:00:00:06', ip: '::1' },
        em1: { mac: '11:22:33:44:55:66', ip: '1.2.0.1' },
      },
    };
    const all = ctx({ ADD_PORTS: 'all' }).c;
    const { data } = preprocess(looped, all);
    expect(data.macs).toEqual(['11:22:33:44:55:66']);
    expect(Object.keys(data.all_interfaces)).toEqual(['lo', 'v4', 'v6', 'em1']);
  });
});

describe('scheduler', () => {
  it('patches the four properties as strings (case 27)', () => {
    const { c } = ctx();
    const { data } = preprocess(seedData(), c);
    expect(planUpdate(data, node, [], c).nodePatches).toEqual([
      { op: 'add', path: '/properties/cpus', value: '2' },
      { op: 'add', path: '/properties/cpu_arch', value: 'x86_64' },
      { op: 'add', path: '/properties/memory_mb', value: '1024' },
      { op: 'add', path: '/properties/local_gb', value: '20' },
    ]);
  });

  it('leaves set properties alone without overwrite_existing (case 28)', () => {
    const { c } = ctx({ OVERWRITE_EXISTING: false });
    const { data } = preprocess(seedData(), c);
    expect(planUpdate(data, node, [], c).nodePatches.map((p) => p.path)).toEqual([
      '/properties/cpus',
      '/properties/memory_mb',
    ]);
  });

  it('names the missing keys (case 23)', () => {
    const { failures } = preprocess({ ...seedData(), cpus: null, memory_mb: null }, ctx().c);
    expect(failures).toEqual([
      'Preprocessing hook scheduler: The following required parameters are missing: [cpus, memory_mb]',
    ]);
  });
});

describe('ramdisk_error', () => {
  it('turns the ramdisk error into a failure, other hooks still run (case 24)', () => {
    const { failures } = preprocess({ ...seedData(), error: 'BOOM', cpus: null }, ctx().c);
    expect(failures).toHaveLength(2);
    expect(failures[0]).toBe('Preprocessing hook ramdisk_error: Ramdisk reported error: BOOM');
  });
});

describe('root_device_hint', () => {
  const hooks: HookName[] = ['root_device_hint'];
  const withDisks = (serials: string[]) => ({ ...seedData(), block_devices: { serials } });

  it('gives a node without a root disk size local_gb 1, so the scheduler hook after it passes', () => {
    const { c } = ctx({ PROCESSING_HOOKS: ['root_device_hint', 'scheduler'] });
    for (const local_gb of [null, 0]) {
      const { data, failures } = preprocess({ ...seedData(), local_gb }, c);
      expect(failures).toEqual([]);
      expect(planUpdate(data, node, [], c).nodePatches).toContainEqual({
        op: 'add',
        path: '/properties/local_gb',
        value: '1',
      });
    }
  });

  it('records the disks on the first run', () => {
    const { c } = ctx({ PROCESSING_HOOKS: hooks });
    const { data } = preprocess(withDisks(['a', 'b']), c);
    expect(planUpdate(data, node, [], c).nodePatches).toEqual([
      { op: 'add', path: '/extra/block_devices', value: { serials: ['a', 'b'] } },
    ]);
  });

  it('sets the one new disk as root device on the second run', () => {
    const { c } = ctx({ PROCESSING_HOOKS: hooks });
    const { data } = preprocess(withDisks(['a', 'b', 'raid']), c);
    const second = { ...node, extra: { block_devices: { serials: ['a', 'b'] } } };
    expect(planUpdate(data, second, [], c).nodePatches).toEqual([
      { op: 'remove', path: '/extra/block_devices' },
      { op: 'add', path: '/properties/root_device', value: { serial: 'raid' } },
    ]);
  });

  it('does nothing, with a warning, when several or no disks are new', () => {
    const { c, warnings } = ctx({ PROCESSING_HOOKS: hooks });
    const { data } = preprocess(withDisks(['a', 'b', 'c', 'd']), c);
    const second = { ...node, extra: { block_devices: { serials: ['a', 'b'] } } };
    expect(planUpdate(data, second, [], c).nodePatches).toEqual([]);
    expect(warnings[0]).toContain('found 2');
  });

  it('leaves a node that already has a root device hint', () => {
    const { c } = ctx({ PROCESSING_HOOKS: hooks });
    const { data } = preprocess(withDisks(['a']), c);
    const hinted = { ...node, properties: { root_device: { serial: 'x' } } };
    expect(planUpdate(data, hinted, [], c).nodePatches).toEqual([]);
  });
});
