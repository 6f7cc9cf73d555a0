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
 * How a worker drives a node's boot device and power. Every action converges
 * to a target state, so running it twice (a retried or stalled job) is harmless.
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
