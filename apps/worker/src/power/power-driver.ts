import type { IronicNode } from '@inspector/shared';

/**
 * How a worker drives a node's boot device and power. Every action converges
 * to a target state, so running it twice (a retried or stalled job) is harmless.
 */
export interface PowerDriver {
  readonly name: 'ironic' | 'ipmi';
  /** Makes the next boot, only that one, a PXE boot. */
  setPxeBoot(node: IronicNode): Promise<void>;
  /** Powers the node on, or reboots it if it is on. */
  reboot(node: IronicNode): Promise<void>;
  /** Ensures the node is off. */
  powerOff(node: IronicNode): Promise<void>;
  /** Whether the node's BMC accepts the credentials now in its driver_info. */
  credentialsWork(node: IronicNode): Promise<boolean>;
}
