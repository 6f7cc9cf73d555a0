import { InspectorError, sleep, type IronicClient } from '@inspector/shared';
import type { PowerDriver, PowerNode } from './power-driver.ts';

export interface IronicPowerOptions {
  /** How long to wait for Ironic to report the node off. */
  confirmTimeoutMs: number;
  /** The first pause between reads of the node; each next one is half as long again, up to 5 s. */
  confirmIntervalMs: number;
}

const MAX_CONFIRM_INTERVAL_MS = 5_000;

/** Power and boot through Ironic's API, as upstream inspector does: the node's UUID is all it needs. */
export class IronicPower implements PowerDriver {
  readonly name = 'ironic';
  constructor(
    private readonly ironic: IronicClient,
    // Twice Ironic's own power_state_change_timeout (60 s): a conductor with a queue of power
    // actions must not fail a run whose data is already in Ironic; the pauses grow so that
    // hundreds of nodes waiting at once do not keep a busy Ironic busier.
    private readonly opts: IronicPowerOptions = {
      confirmTimeoutMs: 120_000,
      confirmIntervalMs: 500,
    },
  ) {}

  async setPxeBoot(node: PowerNode): Promise<void> {
    try {
      await this.ironic.setBootDevice(node.uuid, 'pxe', false);
    } catch (err) {
      throw new InspectorError(
        `Failed to set boot device to PXE for node ${node.uuid}: ${(err as Error).message}`,
        { status: 503, cause: err },
      );
    }
  }

  async reboot(node: PowerNode): Promise<void> {
    try {
      await this.ironic.setPowerState(node.uuid, 'rebooting');
    } catch (err) {
      throw new InspectorError(
        `Failed to power on node ${node.uuid}, check its power management configuration: ${(err as Error).message}`,
        { status: 503, cause: err },
      );
    }
  }

  async powerOff(node: PowerNode): Promise<void> {
    try {
      await this.ironic.setPowerState(node.uuid, 'power off');
      // Ironic applies power changes asynchronously: read the state back.
      const deadline = Date.now() + this.opts.confirmTimeoutMs;
      let pause = this.opts.confirmIntervalMs;
      for (;;) {
        const current = await this.ironic.getNode(node.uuid);
        if (current.power_state === 'power off') return;
        // Ironic sets the target and clears last_error before it accepts the action, and clears
        // the target when the action ends: with an error left, it failed, and no wait will help.
        if (!current.target_power_state && current.last_error) throw new Error(current.last_error);
        if (Date.now() > deadline) {
          throw new Error(`still "${current.power_state}" after ${this.opts.confirmTimeoutMs} ms`);
        }
        await sleep(pause);
        pause = Math.min(pause * 1.5, MAX_CONFIRM_INTERVAL_MS);
      }
    } catch (err) {
      throw new InspectorError(
        `Failed to power off node ${node.uuid}, check its power management configuration: ${(err as Error).message}`,
        { status: 503, cause: err },
      );
    }
  }

  /**
   * Ironic can only read the boot device with working BMC credentials. One read per check: the
   * caller counts its tries, and each retry would be one more login to a BMC that may lock out.
   */
  async credentialsWork(node: PowerNode): Promise<boolean> {
    try {
      await this.ironic.getBootDevice(node.uuid, { retry: false });
      return true;
    } catch {
      return false;
    }
  }
}
