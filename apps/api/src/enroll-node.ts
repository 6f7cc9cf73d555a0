import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  IronicError,
  bmcHost,
  inNetwork,
  ironicCallBudgetMs,
  parseIpAddress,
  parseIpNetwork,
  pickNode,
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
 * The `extra` key that marks a node discovery created, with the machine it was created for:
 * a callback whose discovery failed after the node's creation (a lost answer, a crash) finds
 * the node again on its retry instead of creating another.
 */
export const DISCOVERY_MARK = 'inspector_discovery_id';

/** Which machine a callback comes from, as discovery marks its node. */
export function discoveryId(attrs: LookupAttributes): string {
  const key = JSON.stringify([[...attrs.bmc_address].sort(), [...attrs.mac].sort()]);
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

/** Loopback, however spelled (`::1`, `0:0::1`, `::ffff:127.0.0.1`): never a BMC's address. */
const LOOPBACK = ['127.0.0.0/8', '::1', '::ffff:127.0.0.0/104'].map((n) => parseIpNetwork(n)!);

/** An IP address a BMC may have: a host name or a URL from the callback would point anywhere. */
function usableBmcAddress(address: string | null): string | null {
  if (!address || !isIP(address)) return null;
  const ip = parseIpAddress(address);
  return ip && LOOPBACK.some((net) => inNetwork(ip, net)) ? null : address;
}

/**
 * The BMC address a discovered node gets, in ENABLED_BMC_ADDRESS_VERSION's order; none when
 * the ramdisk reported no IP address of those versions.
 */
export function discoveredBmcAddress(
  data: Pick<NormalizedData, 'ipmi_address' | 'ipmi_v6address'>,
  versions: Config['ENABLED_BMC_ADDRESS_VERSION'],
): string | null {
  for (const version of versions) {
    const address = usableBmcAddress(version === '4' ? data.ipmi_address : data.ipmi_v6address);
    if (address) return address;
  }
  return null;
}

/** What Ironic is asked to create: ENROLL_NODE_FIELDS, the driver, the BMC address, the mark. */
export function enrollmentFields(
  bmcAddress: string | null,
  id: string,
  config: Pick<Config, 'ENROLL_NODE_DRIVER' | 'ENROLL_NODE_FIELDS'>,
): Record<string, unknown> {
  const fields = config.ENROLL_NODE_FIELDS;
  return {
    ...fields,
    driver: config.ENROLL_NODE_DRIVER,
    driver_info: {
      ...(fields.driver_info as Record<string, unknown> | undefined),
      ...(bmcAddress ? { ipmi_address: bmcAddress } : {}),
    },
    extra: { ...(fields.extra as Record<string, unknown> | undefined), [DISCOVERY_MARK]: id },
  };
}

/** Two BMC hosts are one: the same IP address however spelled (`2001:DB8:0::7`), or name. */
function sameHost(a: string, b: string): boolean {
  const [ipA, ipB] = [parseIpAddress(a), parseIpAddress(b)];
  if (ipA && ipB) return ipA.version === ipB.version && ipA.bits === ipB.bits;
  return a.toLowerCase() === b.toLowerCase();
}

/** The node among `nodes` whose BMC is at `address`, as its driver_info names it. */
export function nodeWithBmc(
  nodes: Pick<IronicNode, 'uuid' | 'driver_info'>[],
  address: string,
): string | null {
  return (
    nodes.find((node) => {
      const host = bmcHost(node);
      return host !== null && sameHost(host, address);
    })?.uuid ?? null
  );
}

/** Every string in ENROLL_NODE_FIELDS (passwords among them), wherever Ironic's message echoes one. */
export function redactFields(text: string, fields: unknown): string {
  const values: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string' && v.length >= 3) values.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(fields);
  return values.reduce((out, v) => out.split(v).join('***'), text);
}

/**
 * How long a discovery holds its claim at a time: a port lookup per MAC, the node listing and
 * the creation, each within Ironic's call budget. It is renewed before the creation.
 */
function claimTtlMs(config: Config, attrs: LookupAttributes): number {
  return ironicCallBudgetMs(config, 'api') * (attrs.mac.length + 3);
}

/**
 * Upstream's `enroll` node-not-found hook: a callback from a machine Ironic does not know
 * creates its node, unless a port has one of its MACs or a node has its BMC address (it is
 * then known, only not under introspection). The run starts `enrolling`, reachable by its
 * lookup attributes. Returns the run's node: the new one, one an earlier callback of the
 * machine created and could not start a run for, or the run another callback started
 * meanwhile. Ironic not answering is thrown as it is (503: the ramdisk retries); everything
 * the checks or Ironic refuse is an EnrollRefused.
 */
export async function enrollNode(
  deps: Pick<ApiDeps, 'config' | 'ironic' | 'store'>,
  data: Pick<NormalizedData, 'ipmi_address' | 'ipmi_v6address'>,
  attrs: LookupAttributes,
  reqId: string,
  log: Logger,
): Promise<string> {
  const { config, ironic, store } = deps;
  if (attrs.mac.length === 0 && attrs.bmc_address.length === 0) {
    throw new EnrollRefused('no MAC or BMC address to know the machine again by');
  }
  const claim = await store.claimForEnrollment(attrs, claimTtlMs(config, attrs));
  if (!claim) throw new EnrollRefused('this machine is being enrolled by another request');
  try {
    // A callback that looked the machine up before another one's discovery started its run.
    const meanwhile = pickNode(attrs, await store.candidates(attrs));
    if (meanwhile.kind === 'found') return meanwhile.uuid;
    if (meanwhile.kind === 'multiple') throw new EnrollRefused(meanwhile.message);

    for (const mac of attrs.mac) {
      const port = await ironic.findPort(mac);
      if (port) throw new EnrollRefused(`Port ${mac} already exists, uuid: ${port.uuid}`);
    }
    const id = discoveryId(attrs);
    const nodes = await ironic.listNodesForDiscovery();
    const earlier = nodes.find((n) => n.extra?.[DISCOVERY_MARK] === id);
    let uuid: string;
    if (earlier) {
      const adoptable =
        (earlier.provision_state ?? '').toLowerCase() === 'enroll' &&
        !(await store.get(earlier.uuid));
      if (!adoptable) {
        throw new EnrollRefused(`Node ${earlier.uuid} was discovered from this machine already`);
      }
      uuid = earlier.uuid;
      log.warn({ node: uuid }, 'taking up the node an earlier discovery of this machine created');
    } else {
      const bmcAddress = discoveredBmcAddress(data, config.ENABLED_BMC_ADDRESS_VERSION);
      if (bmcAddress) {
        const owner = nodeWithBmc(nodes, bmcAddress);
        if (owner) throw new EnrollRefused(`Node ${owner} already has BMC address ${bmcAddress}`);
      } else {
        log.warn('no usable BMC address reported: the discovered node is created without one');
      }
      // The checks took Ironic calls: the claim must still be this request's when it creates.
      if (!(await claim.renew())) {
        throw new EnrollRefused('the claim on this machine lapsed; retry');
      }
      uuid = (await createNode(deps, enrollmentFields(bmcAddress, id, config))).uuid;
      log.info(
        { node: uuid, driver: config.ENROLL_NODE_DRIVER, bmc: bmcAddress, macs: attrs.mac.length },
        'node discovered and enrolled in Ironic',
      );
    }
    await store.start({
      uuid,
      bmc: attrs.bmc_address,
      macs: attrs.mac,
      // An installation that cannot manage boot does not power off what it discovers either.
      manageBoot: config.CAN_MANAGE_BOOT,
      reqId,
      discovered: true,
    });
    return uuid;
  } finally {
    // Best effort: the claim lapses by itself, and the discovery's outcome stands either way.
    await claim
      .release()
      .catch((err: Error) => log.warn({ err: err.message }, 'claim not released'));
  }
}

/** Ironic's refusal of the node goes back to the ramdisk, the fields' values hidden. */
async function createNode(
  { config, ironic }: Pick<ApiDeps, 'config' | 'ironic'>,
  fields: Record<string, unknown>,
): Promise<IronicNode> {
  try {
    return await ironic.createNode(fields);
  } catch (err) {
    if (!(err instanceof IronicError)) throw err;
    err.message = redactFields(err.message, config.ENROLL_NODE_FIELDS);
    // Ironic refusing the service itself (401, 403) is the service's fault: a 503, as any call.
    if (err.transient || err.ironicStatus === 401 || err.ironicStatus === 403) throw err;
    throw new EnrollRefused(err.message);
  }
}
