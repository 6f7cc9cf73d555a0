import type { ProcessedData } from '@inspector/shared';

/**
 * An IPA-style inventory for data that came in the seed's flat form.
 * Consumers of GET .../data, Ironic's `inspector` interface first among them,
 * read `inventory` and fail without it.
 */
export function inventoryFromFlat(data: ProcessedData) {
  const interfaces = Object.keys(data.all_interfaces).length
    ? data.all_interfaces
    : data.interfaces;
  return {
    interfaces: Object.entries(interfaces).map(([name, i]) => ({
      name,
      mac_address: i.mac,
      ipv4_address: i.ip,
    })),
    cpu: { count: data.cpus, architecture: data.cpu_arch },
    memory: { physical_mb: data.memory_mb },
    disks: (data.block_devices?.serials ?? []).map((serial) => ({ serial })),
    bmc_address: data.ipmi_address,
  };
}

/**
 * The processed data as stored and served by GET .../data: raw keys plus what hooks derived,
 * and `auto_discovered` for a node discovery created (as upstream, for rules to tell them apart).
 * That key is the service's to set: a ramdisk claiming it would have discovery rules (which set
 * drivers and credentials) run on a node someone enrolled.
 */
export function processedDocument(
  raw: Record<string, unknown>,
  data: ProcessedData,
  autoDiscovered = false,
) {
  const { auto_discovered: _claimed, ...sent } = raw;
  return {
    ...sent,
    inventory: raw.inventory ?? inventoryFromFlat(data),
    ipmi_address: data.ipmi_address,
    ipmi_v6address: data.ipmi_v6address,
    all_interfaces: data.all_interfaces,
    interfaces: data.interfaces,
    macs: data.macs,
    local_gb: data.local_gb,
    cpus: data.cpus,
    cpu_arch: data.cpu_arch,
    memory_mb: data.memory_mb,
    ...(autoDiscovered ? { auto_discovered: true } : {}),
  };
}
