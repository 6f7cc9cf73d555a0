import { describe, expect, it } from 'vitest';
import { RamdiskDataSchema, normalizeRamdiskData } from './ramdisk-data.ts';

const inventoryBody = {
  inventory: {
    interfaces: [
      { name: 'eth0', mac_address: '52:54:00:01:02:00', ipv4_address: '198.18.0.10' },
      {
        name: 'eth1',
        mac_address: '52:54:00:01:02:01',
        ipv4_address: null,
        ipv6_address: 'fe80::1%eth1',
      },
      { mac_address: '52:54:00:01:02:09' },
    ],
    cpu: { count: 8, architecture: 'x86_64', flags: ['vmx'] },
    memory: { physical_mb: 16384, total: 17179869184 },
    disks: [
      { name: '/dev/sda', size: 107374182400, serial: 'S1' },
      { name: '/dev/sdb', size: 10737418240, serial: null },
    ],
    bmc_address: '10.77.1.9',
    bmc_v6address: '::/0',
  },
  root_disk: { name: '/dev/sda', size: 107374182400 },
  boot_interface: '01-52-54-00-01-02-00',
  data: [['system', 'product', 'vendor', 'KVM']],
};

const parse = (body: unknown) => normalizeRamdiskData(RamdiskDataSchema.parse(body));

describe('normalizeRamdiskData', () => {
  it('maps the IPA inventory form onto the seed keys', () => {
    expect(parse(inventoryBody)).toEqual({
      cpus: 8,
      cpu_arch: 'x86_64',
      memory_mb: 16384,
      local_gb: 99,
      interfaces: {
        eth0: { mac: '52:54:00:01:02:00', ip: '198.18.0.10', client_id: null },
        eth1: { mac: '52:54:00:01:02:01', ip: 'fe80::1', client_id: null },
      },
      ipmi_address: '10.77.1.9',
      ipmi_v6address: null,
      boot_interface: '01-52-54-00-01-02-00',
      error: null,
      block_devices: { serials: ['S1'] },
    });
  });

  it('reads the seed form as sent', () => {
    const data = parse({
      cpus: 2,
      cpu_arch: 'x86_64',
      memory_mb: '1024',
      local_gb: 20,
      interfaces: {
        em1: { mac: '11:22:33:44:55:66', ip: '1.2.0.1' },
        em3: { mac: 'DE:AD:BE:EF:DE:AD' },
      },
      ipmi_address: '1.2.3.4',
      block_devices: { serials: ['a', 'b'] },
    });
    expect(data).toMatchObject({
      cpus: 2,
      memory_mb: 1024,
      local_gb: 20,
      ipmi_address: '1.2.3.4',
      interfaces: { em3: { mac: 'DE:AD:BE:EF:DE:AD', ip: null } },
      block_devices: { serials: ['a', 'b'] },
    });
  });

  it('treats placeholder BMC addresses as absent (upstream bug 1714944)', () => {
    for (const bmc of ['', '0.0.0.0']) {
      expect(parse({ inventory: { bmc_address: bmc }, ipmi_address: '1.2.3.4' }).ipmi_address).toBe(
        '1.2.3.4',
      );
      expect(parse({ inventory: { bmc_address: bmc } }).ipmi_address).toBeNull();
    }
  });

  it('gives local_gb 0 for a diskless node', () => {
    expect(parse({ inventory: { cpu: { count: 1 } } }).local_gb).toBe(0);
  });

  it('names the offending field when the body is malformed', () => {
    const result = RamdiskDataSchema.safeParse({ inventory: { cpu: { count: 'many' } } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['inventory', 'cpu', 'count']);
  });

  it.each([
    ['a fraction', 1.5],
    ['a word', 'many'],
    ['a boolean', true],
    ['a number JSON cannot hold', JSON.parse('1e400')],
  ])('says what a count must be when it is %s', (_, cpus) => {
    const result = RamdiskDataSchema.safeParse({ cpus });
    expect(result.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [['cpus'], 'expected a whole number of at least 0, as a number or a string of digits'],
    ]);
  });

  it('refuses too many interfaces', () => {
    const interfaces = Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [`eth${i}`, { mac: '11:22:33:44:55:66' }]),
    );
    expect(RamdiskDataSchema.safeParse({ interfaces }).success).toBe(false);
  });
});
