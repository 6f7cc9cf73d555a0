import type { IronicClient, IronicNode } from '@inspector/shared';

/**
 * The node a power action is for. Its Ironic record is fetched only by a
 * driver that needs more than the UUID (the BMC's address and credentials),
 * and at most once: Ironic is usually the slowest part of a run.
 */
export interface PowerNode {
  readonly uuid: string;
  details(): Promise<IronicNode>;
}

/** A node known by its UUID, its record read from Ironic on first need. */
export function lazyNode(ironic: IronicClient, uuid: string): PowerNode {
  let loaded: Promise<IronicNode> | undefined;
  return { uuid, details: () => (loaded ??= ironic.getNode(uuid)) };
}

export function knownNode(node: IronicNode): PowerNode {
  return { uuid: node.uuid, details: () => Promise.resolve(node) };
}

/**
 * How a worker drives a node's boot device and power. Setting PXE boot and
 * powering off converge to a target state, so running them twice is harmless.
 * A reboot does not: a driver never sends one again after it may have been
 * carried out (a lost answer). A job that retries after such a failure sets
 * PXE boot again before it reboots, so a second reboot costs the node one more
 * boot into the ramdisk, never a boot from its disk; failing the run instead
 * would throw away a boot that most likely happened.
 */
export interface PowerDriver {
  readonly name: 'ironic' | 'ipmi';
  /** Makes the next boot, only that one, a PXE boot. */
  setPxeBoot(node: PowerNode): Promise<void>;
  /** Powers the node on, or reboots it if it is on. */
  reboot(node: PowerNode): Promise<void>;
  /** Ensures the node is off. */
  powerOff(node: PowerNode): Promise<void>;
  /** Whether the node's BMC accepts the credentials now in its driver_info. */
  credentialsWork(node: PowerNode): Promise<boolean>;
}
