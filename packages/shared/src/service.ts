import type { Config, ServiceRole } from './config.ts';
import { pingRedis } from './health.ts';
import { ironicClientFromConfig, type IronicClient } from './ironic/client.ts';
import type { Logger } from './logger.ts';
import { Metrics, queueCountsOf } from './metrics.ts';
import { Queues } from './queues.ts';
import { createRedisClient, type RedisClient } from './redis.ts';
import { RuleStore } from './store/rule-store.ts';
import { storeFromConfig, type StateStore } from './store/state-store.ts';

/** The two Redis connections of an API or worker process (see RedisUse). */
export interface ServiceConnections {
  store: RedisClient;
  queues: RedisClient;
}

/** Opens both connections for `role`; their errors are logged, never thrown. */
export function openConnections(
  config: Config,
  role: ServiceRole,
  logger: Logger,
): ServiceConnections {
  const connections: ServiceConnections = {
    store: createRedisClient(config.REDIS_URL, role, `inspector-${role}-store`, 'store'),
    queues: createRedisClient(config.REDIS_URL, role, `inspector-${role}-queues`),
  };
  for (const client of Object.values(connections)) {
    client.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  }
  return connections;
}

/** Rejects, saying why, unless every connection answers PING within `timeoutMs`: for readiness. */
export async function pingConnections(
  connections: ServiceConnections,
  timeoutMs: number,
): Promise<void> {
  await Promise.all(Object.values(connections).map((client) => pingRedis(client, timeoutMs)));
}

export async function closeConnections(connections: ServiceConnections): Promise<void> {
  await Promise.all(
    Object.values(connections).map((client) => client.quit().catch(() => undefined)),
  );
}

export interface ServiceCore {
  metrics: Metrics;
  queues: Queues;
  store: StateStore;
  rules: RuleStore;
  ironic: IronicClient;
}

/** What the API and the workers build alike on their connections, metrics wired in. */
export function createServiceCore(
  config: Config,
  connections: ServiceConnections,
  role: ServiceRole,
): ServiceCore {
  const metrics = new Metrics();
  const queues = new Queues(connections.queues, config);
  metrics.trackQueues(queueCountsOf(queues));
  return {
    metrics,
    queues,
    store: storeFromConfig(connections.store, config, metrics.storeChange),
    rules: new RuleStore(connections.store, config.REDIS_PREFIX),
    ironic: ironicClientFromConfig(config, role, metrics.ironicCall),
  };
}
