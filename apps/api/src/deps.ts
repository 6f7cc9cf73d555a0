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
  /** The state store's connection (and the probes'). */
  redis: RedisClient;
  /** BullMQ's connection, kept apart from the store's (see RedisUse). */
  queueRedis: RedisClient;
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
  const redis = createRedisClient(config.REDIS_URL, 'api', 'inspector-api', 'store');
  const queueRedis = createRedisClient(config.REDIS_URL, 'api', 'inspector-api-queues');
  for (const client of [redis, queueRedis]) {
    client.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  }
  const metrics = new Metrics();
  const queues = new Queues(queueRedis, config);
  metrics.trackQueues(queueCountsOf(queues));
  return {
    config,
    logger,
    redis,
    queueRedis,
    metrics,
    store: storeFromConfig(redis, config, metrics.storeChange),
    queues,
    ironic: ironicClientFromConfig(config, metrics.ironicCall),
    auth,
  };
}

export async function closeApiDeps(deps: ApiDeps): Promise<void> {
  await deps.queues.close().catch(() => undefined);
  await Promise.all([deps.redis, deps.queueRedis].map((c) => c.quit().catch(() => undefined)));
}
