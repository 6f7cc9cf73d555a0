import {
  InspectorError,
  parseBmcCredentials,
  type BmcCredentials,
  type BmcDriver,
  type IronicNode,
} from '@inspector/shared';
import type { PowerDriver } from './power-driver.ts';

/**
 * Power and boot straight to the BMC with ipmitool. The credentials come from
 * the node's driver_info, so Ironic must show this service the password (its
 * `show_password` policy); a masked one is refused with a message saying so.
 */
export class IpmiPower implements PowerDriver {
  readonly name = 'ipmi';
  constructor(private readonly bmc: BmcDriver) {}

  #creds(node: IronicNode, operation: string): BmcCredentials {
    try {
      return parseBmcCredentials(node.driver_info ?? {});
    } catch (err) {
      throw new InspectorError(`Cannot ${operation} node ${node.uuid}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async #run(node: IronicNode, what: string, action: (c: BmcCredentials) => Promise<unknown>) {
    const creds = this.#creds(node, what);
    try {
      await action(creds);
    } catch (err) {
      throw new InspectorError(`Failed to ${what} node ${node.uuid}: ${(err as Error).message}`, {
        status: 503,
        cause: err,
      });
    }
  }

  async setPxeBoot(node: IronicNode): Promise<void> {
    await this.#run(node, 'set boot device to PXE for', (c) => this.bmc.setBootDevice(c, 'pxe'));
  }

  async reboot(node: IronicNode): Promise<void> {
    await this.#run(node, 'power on', (c) => this.bmc.reboot(c));
  }

  async powerOff(node: IronicNode): Promise<void> {
    await this.#run(node, 'power off', (c) => this.bmc.powerOff(c));
  }

  async credentialsWork(node: IronicNode): Promise<boolean> {
    try {
      return await this.bmc.checkCredentials(this.#creds(node, 'check the credentials of'));
    } catch {
      return false;
    }
  }
}
