import {
  InspectorError,
  parseBmcCredentials,
  type BmcCredentials,
  type BmcDriver,
} from '@inspector/shared';
import type { PowerDriver, PowerNode } from './power-driver.ts';

/**
 * Power and boot straight to the BMC with ipmitool. The credentials come from
 * the node's driver_info, so Ironic must show this service the password (its
 * `show_password` policy); a masked one is refused with a message saying so.
 */
export class IpmiPower implements PowerDriver {
  readonly name = 'ipmi';
  constructor(private readonly bmc: BmcDriver) {}

  async #creds(node: PowerNode, operation: string): Promise<BmcCredentials> {
    const { driver_info } = await node.details();
    try {
      return parseBmcCredentials(driver_info ?? {});
    } catch (err) {
      throw new InspectorError(`Cannot ${operation} node ${node.uuid}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async #run(node: PowerNode, what: string, action: (c: BmcCredentials) => Promise<unknown>) {
    const creds = await this.#creds(node, what);
    try {
      await action(creds);
    } catch (err) {
      throw new InspectorError(`Failed to ${what} node ${node.uuid}: ${(err as Error).message}`, {
        status: 503,
        cause: err,
      });
    }
  }

  async setPxeBoot(node: PowerNode): Promise<void> {
    await this.#run(node, 'set boot device to PXE for', (c) => this.bmc.setBootDevice(c, 'pxe'));
  }

  async reboot(node: PowerNode): Promise<void> {
    await this.#run(node, 'power on', (c) => this.bmc.reboot(c));
  }

  async powerOff(node: PowerNode): Promise<void> {
    await this.#run(node, 'power off', (c) => this.bmc.powerOff(c));
  }

  async credentialsWork(node: PowerNode): Promise<boolean> {
    try {
      return await this.bmc.checkCredentials(await this.#creds(node, 'check the credentials of'));
    } catch {
      return false;
    }
  }
}
