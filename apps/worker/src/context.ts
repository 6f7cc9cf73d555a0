import type { RedisClient } from '@inspector/shared';
import {
  IpmitoolDriver,
  Metrics,
  Queues,
  ironicClientFromConfig,
  queueCountsOf,
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
  metrics: Metrics;
}

/** `connection` is BullMQ's, `storeConnection` the state store's (see RedisUse). */
export function createWorkerContext(
  config: Config,
  logger: Logger,
  connection: RedisClient,
  storeConnection: RedisClient,
): WorkerContext {
  const metrics = new Metrics();
  const ironic = ironicClientFromConfig(config, metrics.ironicCall);
  const queues = new Queues(connection, config);
  metrics.trackQueues(queueCountsOf(queues));
  return {
    config,
    logger,
    metrics,
    ironic,
    queues,
    store: storeFromConfig(storeConnection, config, metrics.storeChange),
    power:
      config.POWER_MANAGEMENT === 'ipmi'
        ? new IpmiPower(
            new IpmitoolDriver({
              logger: logger.child({ component: 'bmc' }),
              onCall: metrics.bmcCall,
            }),
          )
        : new IronicPower(ironic),
  };
}
