import type { Config, IronicClient, Logger, Queues, StateStore } from '@inspector/shared';
import type { PowerDriver } from './power/power-driver.ts';

/** What every processor may use, built once in main.ts. */
export interface WorkerContext {
  config: Config;
  store: StateStore;
  queues: Queues;
  ironic: IronicClient;
  power: PowerDriver;
  logger: Logger;
}
