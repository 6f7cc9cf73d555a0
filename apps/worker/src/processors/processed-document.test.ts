import { describe, expect, it } from 'vitest';
import { normalizeRamdiskData, preprocess, RamdiskDataSchema } from '@inspector/shared';
import { processedDocument } from './processed-document.ts';

const ctx = {
  config: {
    ADD_PORTS: 'pxe' as const,
    KEEP_PORTS: 'all' as const,
    OVERWRITE_EXISTING: true,
    PROCESSING_HOOKS: ['validate_interfaces' as const],
  },
  warn: () => undefined,
};
const run = (raw: Record<string, unknown>) =>
  processedDocument(raw, preprocess(normalizeRamdiskData(RamdiskDataSchema.parse(raw)), ctx).data);

describe('processedDocument', () => {
  it('gives seed-form data an inventory, as Ironic expects one', () => {
    const doc = run({
      cpus: 4,
      cpu_arch: 'x86_64',
      memory_mb: 2048,
      local_gb: 10,
      ipmi_address: '10.0.0.9',
      interfaces: { eth0: { mac: '52:54:00:00:00:01', ip: '192.0.2.5' } },
      block_devices: { serials: ['S1'] },
    });
    expect(doc.inventory).toEqual({
      interfaces: [{ name: 'eth0', mac_address: '52:54:00:00:00:01', ipv4_address: '192.0.2.5' }],
      cpu: { count: 4, architecture: 'x86_64' },
      memory: { physical_mb: 2048 },
      disks: [{ serial: 'S1' }],
      bmc_address: '10.0.0.9',
    });
    expect(doc).toMatchObject({ cpus: 4, macs: ['52:54:00:00:00:01'] });
  });

  it('keeps the inventory the ramdisk sent', () => {
    const inventory = {
      interfaces: [{ name: 'eth0', mac_address: '52:54:00:00:00:01', ipv4_address: '192.0.2.5' }],
      cpu: { count: 2 },
    };
    expect(run({ inventory }).inventory).toEqual(inventory);
  });

  it('marks a discovered node alone as auto_discovered, whatever the ramdisk claims', () => {
    const inventory = {
      interfaces: [{ name: 'eth0', mac_address: '52:54:00:00:00:01', ipv4_address: '192.0.2.5' }],
    };
    const raw = { inventory, auto_discovered: true };
    const data = preprocess(normalizeRamdiskData(RamdiskDataSchema.parse(raw)), ctx).data;
    expect(processedDocument(raw, data)).not.toHaveProperty('auto_discovered');
    expect(processedDocument(raw, data, true)).toMatchObject({ auto_discovered: true });
  });
});
