import {
  IronicError,
  bmcHost,
  type Config,
  type IronicNode,
  type Logger,
  type LookupAttributes,
  type NormalizedData,
} from '@inspector/shared';
import type { ApiDeps } from './deps.ts';

/** A discovery that cannot go on: the ramdisk is told why, as one of the pre-processing failures. */
export class EnrollRefused extends Error {}

/**
 * Longest a discovery holds its claim on a machine's MACs and BMC address: the checks and the
 * node's creation take a few Ironic calls, each within IRONIC_TIMEOUT_MS and its retries.
 */
const CLAIM_TTL_MS = 120_000;

/**
 * The BMC address a discovered node gets, in ENABLED_BMC_ADDRESS_VERSION's order; none when
 * the ramdisk reported none of those versions.
 */
export function discoveredBmcAddress(
  data: Pick<NormalizedData, 'ipmi_address' | 'ipmi_v6address'>,
  versions: Config['ENABLED_BMC_ADDRESS_VERSION'],
): string | null {
  for (const version of versions) {
    const address = version === '4' ? data.ipmi_address : data.ipmi_v6address;
    if (address) return address;
  }
  return null;
}

/** What Ironic is asked to create: ENROLL_NODE_FIELDS, the driver, and the BMC address found. */
export function enrollmentFields(
  bmcAddress: string | null,
  config: Pick<Config, 'ENROLL_NODE_DRIVER' | 'ENROLL_NODE_FIELDS'>,
): Record<string, unknown> {
  const fields = config.ENROLL_NODE_FIELDS;
  const driverInfo = {
    ...(fields.driver_info as Record<string, unknown> | undefined),
    ...(bmcAddress ? { ipmi_address: bmcAddress } : {}),
  };
  return { ...fields, driver: config.ENROLL_NODE_DRIVER, driver_info: driverInfo };
}

/** The node among `nodes` whose BMC is at `address`, as its driver_info names it. */
export function nodeWithBmc(
  nodes: Pick<IronicNode, 'uuid' | 'driver_info'>[],
  address: string,
): string | null {
  return nodes.find((node) => bmcHost(node) === address)?.uuid ?? null;
}

/**
 * Upstream's `enroll` node-not-found hook: a callback from a machine Ironic does not know
 * creates its node, unless a port has one of its MACs or a node has its BMC address (it is
 * then known, only not under introspection). The run starts `enrolling`, reachable by its
 * lookup attributes, so a second callback from the machine finds it instead of enrolling it
 * again. Ironic not answering is thrown as it is (503: the ramdisk retries); everything Ironic
 * or the checks refuse is an EnrollRefused.
 */
export async function enrollNode(
  deps: Pick<ApiDeps, 'config' | 'ironic' | 'store'>,
  data: Pick<NormalizedData, 'ipmi_address' | 'ipmi_v6address'>,
  attrs: LookupAttributes,
  reqId: string,
  log: Logger,
): Promise<{ uuid: string; gen: number }> {
  const { config, ironic, store } = deps;
  if (attrs.mac.length === 0 && attrs.bmc_address.length === 0) {
    throw new EnrollRefused('no MAC or BMC address to know the machine again by');
  }
  const release = await store.claimForEnrollment(attrs, CLAIM_TTL_MS);
  if (!release) throw new EnrollRefused('this machine is being enrolled by another request');
  try {
    for (const mac of attrs.mac) {
      const port = await ironic.findPort(mac);
      if (port) throw new EnrollRefused(`Port ${mac} already exists, uuid: ${port.uuid}`);
    }
    const bmcAddress = discoveredBmcAddress(data, config.ENABLED_BMC_ADDRESS_VERSION);
    if (bmcAddress) {
      const owner = nodeWithBmc(await ironic.listNodeDriverInfo(), bmcAddress);
      if (owner) throw new EnrollRefused(`Node ${owner} already has BMC address ${bmcAddress}`);
    } else {
      log.warn('no BMC address reported: the discovered node is created without one');
    }
    let node: IronicNode;
    try {
      node = await ironic.createNode(enrollmentFields(bmcAddress, config));
    } catch (err) {
      if (err instanceof IronicError && !err.transient) {
        throw new EnrollRefused(err.message);
      }
      throw err;
    }
    const { gen } = await store.start({
      uuid: node.uuid,
      bmc: attrs.bmc_address,
      macs: attrs.mac,
      manageBoot: true,
      reqId,
      discovered: true,
    });
    log.info(
      {
        node: node.uuid,
        driver: config.ENROLL_NODE_DRIVER,
        bmc: bmcAddress,
        macs: attrs.mac.length,
      },
      'node discovered and enrolled in Ironic',
    );
    return { uuid: node.uuid, gen };
  } finally {
    await release();
  }
}
