import type { Redis } from 'ioredis';
import type { Config, IronicClient, Logger, Queues, StateStore } from '@inspector/shared';

/** Everything the API needs, built once in main.ts and passed in. */
export interface ApiDeps {
  config: Config;
  redis: Redis;
  store: StateStore;
  queues: Queues;
  ironic: IronicClient;
  logger: Logger;
}
