import type { RedisClient } from '@inspector/shared';
import {
  Metrics,
  Queues,
  createRedisClient,
  ironicClientFromConfig,
  queueCountsOf,
  storeFromConfig,
  type Config,
  type IronicClient,
  type Logger,
  type StateStore,
} from '@inspector/shared';
import { createAuth, type Auth } from './auth/auth.ts';

/** Everything the API needs, built once at start-up and passed in. */
export interface ApiDeps {
  config: Config;
  redis: RedisClient;
  store: StateStore;
  queues: Queues;
  ironic: IronicClient;
  logger: Logger;
  metrics: Metrics;
  auth: Auth;
}

export function createApiDeps(config: Config, logger: Logger): ApiDeps {
  // First: a missing auth setting or unreadable htpasswd file stops start-up before any connection.
  const auth = createAuth(config, logger);
  const redis = createRedisClient(config.REDIS_URL, 'api', 'inspector-api');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const metrics = new Metrics();
  const queues = new Queues(redis, config);
  metrics.trackQueues(queueCountsOf(queues));
  return {
    config,
    logger,
    redis,
    metrics,
    store: storeFromConfig(redis, config, metrics.storeChange),
    queues,
    ironic: ironicClientFromConfig(config, metrics.ironicCall),
    auth,
  };
}

export async function closeApiDeps(deps: ApiDeps): Promise<void> {
  await deps.queues.close().catch(() => undefined);
  await deps.redis.quit().catch(() => undefined);
}
