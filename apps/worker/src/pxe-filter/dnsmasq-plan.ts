/**
 * What dnsmasq's --dhcp-hostsdir should say, as a pure function of what Ironic and the store
 * hold. One file per MAC, named by the MAC: `<mac>` lets the MAC through, `<mac>,ignore` keeps
 * dnsmasq from answering it; one more file sets the same for every MAC without its own file.
 * dnsmasq notices a file created or changed, never one removed, so a MAC once written is only
 * ever rewritten.
 */

import type { FilterState } from './filter-driver.ts';

export type Policy = 'allow' | 'deny';

/** The file that sets the policy of every MAC without a file of its own. */
export const UNKNOWN_HOSTS_FILE = 'unknown_hosts_filter';

const WILDCARD_MAC = '*:*:*:*:*:*';

/** The file's text for `mac` (or UNKNOWN_HOSTS_FILE) under `policy`, as dnsmasq reads it. */
export function hostsEntry(name: string, policy: Policy): string {
  const mac = name === UNKNOWN_HOSTS_FILE ? WILDCARD_MAC : name;
  return policy === 'allow' ? `${mac}\n` : `${mac},ignore\n`;
}

/** The policy a file's text sets, or null for text the filter never writes. */
export function parseHostsEntry(name: string, text: string): Policy | null {
  if (text === hostsEntry(name, 'allow')) return 'allow';
  if (text === hostsEntry(name, 'deny')) return 'deny';
  return null;
}

export interface FilterInputs extends FilterState {
  /** What the hosts directory holds now, by file name (null: text the filter did not write). */
  current: ReadonlyMap<string, Policy | null>;
}

/**
 * The files to write, by name, with their policy: only those whose policy changes. Ironic's
 * MACs not under introspection are denied, so that a deployed or idle node never boots the
 * inspection ramdisk. A MAC Ironic no longer has is treated as an unknown machine. Without
 * Ironic's list the filter fails closed: only introspected MACs are let through.
 */
export function planHostsDir(inputs: FilterInputs): Map<string, Policy> {
  const { introspected, ironic, unknownAllowed, current } = inputs;
  const unknown: Policy = unknownAllowed && ironic ? 'allow' : 'deny';
  const wanted = new Map<string, Policy>([[UNKNOWN_HOSTS_FILE, unknown]]);
  for (const mac of introspected) wanted.set(mac, 'allow');
  if (ironic) {
    for (const mac of ironic) if (!introspected.has(mac)) wanted.set(mac, 'deny');
  }
  for (const name of current.keys()) if (!wanted.has(name)) wanted.set(name, unknown);
  const changes = new Map<string, Policy>();
  for (const [name, policy] of wanted) {
    if (current.get(name) !== policy) changes.set(name, policy);
  }
  return changes;
}
