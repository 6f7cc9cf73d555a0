import type { Redis } from 'ioredis';
import {
  Queues,
  createRedis,
  ironicClientFromConfig,
  storeFromConfig,
  type Config,
  type IronicClient,
  type Logger,
  type StateStore,
} from '@inspector/shared';

/** Everything the API needs, built once at start-up and passed in. */
export interface ApiDeps {
  config: Config;
  redis: Redis;
  store: StateStore;
  queues: Queues;
  ironic: IronicClient;
  logger: Logger;
}

export function createApiDeps(config: Config, logger: Logger): ApiDeps {
  const redis = createRedis(config.REDIS_URL, 'api', 'inspector-api');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  return {
    config,
    logger,
    redis,
    store: storeFromConfig(redis, config),
    queues: new Queues(redis, config),
    ironic: ironicClientFromConfig(config),
  };
}

export async function closeApiDeps(deps: ApiDeps): Promise<void> {
  await deps.queues.close().catch(() => undefined);
  await deps.redis.quit().catch(() => undefined);
}
