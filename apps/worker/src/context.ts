import type { Redis } from 'ioredis';
import {
  IpmitoolDriver,
  Queues,
  ironicClientFromConfig,
  storeFromConfig,
  type Config,
  type IronicClient,
  type Logger,
  type StateStore,
} from '@inspector/shared';
import { IpmiPower } from './power/ipmi-power.ts';
import { IronicPower } from './power/ironic-power.ts';
import type { PowerDriver } from './power/power-driver.ts';

/** What every processor may use, built once at start-up. */
export interface WorkerContext {
  config: Config;
  store: StateStore;
  queues: Queues;
  ironic: IronicClient;
  power: PowerDriver;
  logger: Logger;
}

export function createWorkerContext(
  config: Config,
  logger: Logger,
  connection: Redis,
): WorkerContext {
  const ironic = ironicClientFromConfig(config);
  return {
    config,
    logger,
    ironic,
    queues: new Queues(connection, config),
    store: storeFromConfig(connection, config),
    power:
      config.POWER_MANAGEMENT === 'ipmi'
        ? new IpmiPower(new IpmitoolDriver({ logger: logger.child({ component: 'bmc' }) }))
        : new IronicPower(ironic),
  };
}
