import { normalizeMac } from '../mac.ts';
import { inNetwork, parseIpAddress, parseIpNetwork } from '../rules/ip.ts';
import type { Interface } from '../ramdisk-data.ts';
import { HookFailure, type Hook } from './types.ts';

/** Provision states of a node in use: its ports are made, never taken away (upstream's rule). */
const IN_USE = new Set(['active', 'rescue']);

const LOOPBACK = ['127.0.0.0/8', '::1/128'].map((net) => parseIpNetwork(net)!);

/** `lo`, or an address of this machine itself: never a NIC to boot or reach the node by. */
function isLoopback(name: string, ip: string | null): boolean {
  const address = ip === null ? null : parseIpAddress(ip);
  return name === 'lo' || (address !== null && LOOPBACK.some((net) => inNetwork(address, net)));
}

export const validateInterfaces: Hook = {
  name: 'validate_interfaces',
  beforeProcessing(data, ctx) {
    const given = Object.entries(data.interfaces);
    if (given.length === 0) throw new HookFailure('No interfaces supplied by the ramdisk');

    const valid: [string, Interface][] = [];
    for (const [name, iface] of given) {
      const mac = normalizeMac(iface.mac);
      if (!mac) {
        ctx.warn(`Interface ${name} has no valid MAC (${JSON.stringify(iface.mac)}), ignored`);
        continue;
      }
      valid.push([name, { ...iface, mac, pxe: mac === data.pxe_mac }]);
    }
    // From entries: assigning a name such as `__proto__` would set the prototype instead.
    const all = Object.fromEntries(valid);

    let eligible = valid.filter(([name, i]) => !isLoopback(name, i.ip));
    const { ADD_PORTS } = ctx.config;
    if (ADD_PORTS === 'pxe' && data.pxe_mac) {
      eligible = eligible.filter(([, i]) => i.mac === data.pxe_mac);
    } else if (ADD_PORTS !== 'all') {
      eligible = eligible.filter(([, i]) => !!i.ip);
    }
    if (eligible.length === 0) {
      throw new HookFailure(
        `No valid interfaces found for node with BMC ${data.ipmi_address ?? 'unknown'}, got ${JSON.stringify(data.interfaces)}`,
      );
    }
    data.all_interfaces = all;
    data.interfaces = Object.fromEntries(eligible);
    data.macs = eligible.map(([, i]) => i.mac);
  },
  beforeUpdate(data, node, ports, plan, ctx) {
    const existing = new Set(ports.map((p) => normalizeMac(p.address)));
    for (const mac of data.macs) {
      if (existing.has(mac)) continue;
      plan.createPorts.push({
        address: mac,
        pxe_enabled: data.pxe_mac ? mac === data.pxe_mac : true,
      });
    }
    // A reapply reaches deployed nodes too: a spare NIC the data missed is still cabled, and the
    // NIC it boots from is the deployment's business.
    if (IN_USE.has(node.provision_state ?? '')) return;
    // As upstream's update_pxe_enabled, under overwrite_existing: the NIC the node booted the
    // ramdisk from is the one to PXE-boot from. Unknown without a boot interface, when
    // upstream turned every port off, which would leave the node unable to boot at all.
    if (ctx.config.OVERWRITE_EXISTING && data.pxe_mac) {
      const present = new Set(Object.values(data.all_interfaces).map((i) => i.mac));
      for (const port of ports) {
        const mac = normalizeMac(port.address);
        const pxe_enabled = mac === data.pxe_mac;
        if (mac && present.has(mac) && port.pxe_enabled !== pxe_enabled) {
          plan.pxePorts.push({ port, pxe_enabled });
        }
      }
    }
    const { KEEP_PORTS } = ctx.config;
    if (KEEP_PORTS === 'all') return;
    const keep = new Set(
      KEEP_PORTS === 'present' ? Object.values(data.all_interfaces).map((i) => i.mac) : data.macs,
    );
    plan.deletePorts.push(...ports.filter((p) => !keep.has(normalizeMac(p.address) ?? '')));
  },
};
