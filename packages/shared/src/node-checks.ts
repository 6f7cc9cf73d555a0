import { isIP } from 'node:net';
import { BadRequest } from './errors.ts';
import type { IronicNode } from './ironic/types.ts';

export const INTROSPECTABLE_STATES = [
  'enroll',
  'manageable',
  'inspecting',
  'inspect wait',
  'inspect failed',
] as const;

/** Refuses nodes Ironic has in a state where booting a ramdisk would do harm (e.g. active). */
export function checkProvisionState(node: IronicNode): void {
  const state = (node.provision_state ?? '').toLowerCase();
  if (state && !(INTROSPECTABLE_STATES as readonly string[]).includes(state)) {
    throw new BadRequest(
      `Invalid provision state for introspection: "${node.provision_state}", valid states are "${JSON.stringify(INTROSPECTABLE_STATES)}"`,
    );
  }
}

const BMC_FIELDS = [
  'ipmi_address',
  'redfish_address',
  'ilo_address',
  'drac_host',
  'drac_address',
  'ibmc_address',
];

/** The BMC host of a node's driver_info: the first address field set, URLs reduced to their host. */
export function bmcHost(node: Pick<IronicNode, 'driver_info'>): string | null {
  for (const field of BMC_FIELDS) {
    const value = node.driver_info?.[field];
    if (typeof value !== 'string' || !value.trim()) continue;
    let host = value.trim();
    if (host.includes('://')) {
      try {
        host = new URL(host).hostname;
      } catch {
        continue;
      }
    }
    return host.replace(/^\[(.*)\]$/, '$1');
  }
  return null;
}

export const isIpAddress = (host: string) => isIP(host) !== 0;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ironic's node names: letters, digits and -._~ (RFC 3986 unreserved). */
const NAME_RE = /^[A-Za-z0-9\-._~]{1,255}$/;

export const isUuid = (value: string) => UUID_RE.test(value);
// `.` and `..` match NAME_RE but are path segments: a URL naming them names another resource.
export const isNodeName = (value: string) => NAME_RE.test(value) && value !== '.' && value !== '..';

/** A node identifier from a URL: a UUID, or a name Ironic can resolve. */
export function parseNodeIdent(value: string): { uuid: string } | { name: string } {
  if (isUuid(value)) return { uuid: value.toLowerCase() };
  if (isNodeName(value)) return { name: value };
  throw new BadRequest(`Invalid UUID or node name: ${JSON.stringify(value.slice(0, 300))}`);
}
