import {
  IpmitoolDriver,
  createServiceCore,
  type Config,
  type Logger,
  type ServiceConnections,
  type ServiceCore,
} from '@inspector/shared';
import { IpmiPower } from './power/ipmi-power.ts';
import { IronicPower } from './power/ironic-power.ts';
import type { PowerDriver } from './power/power-driver.ts';

/** What every processor may use, built once at start-up. */
export interface WorkerContext extends ServiceCore {
  config: Config;
  power: PowerDriver;
  logger: Logger;
}

export function createWorkerContext(
  config: Config,
  logger: Logger,
  connections: ServiceConnections,
): WorkerContext {
  const core = createServiceCore(config, connections, 'worker');
  const { metrics, ironic } = core;
  return {
    ...core,
    config,
    logger,
    power:
      config.POWER_MANAGEMENT === 'ipmi'
        ? new IpmiPower(
            new IpmitoolDriver({
              searchPath: config.PATH,
              logger: logger.child({ component: 'bmc' }),
              onCall: metrics.bmcCall,
            }),
          )
        : new IronicPower(ironic),
  };
}
