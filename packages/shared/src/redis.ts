import { Redis, type RedisOptions } from 'ioredis';

/**
 * One connection per role. The API's connection fails fast so a request gets
 * a 503 at once while Redis is down; workers' connections wait and reconnect,
 * as BullMQ requires for blocking commands.
 */
export type RedisRole = 'api' | 'worker';

export function createRedis(url: string, role: RedisRole, name?: string): Redis {
  const common: RedisOptions = {
    connectionName: name,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  const roleOptions: RedisOptions =
    role === 'api'
      ? {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2000,
          commandTimeout: 5000,
        }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  return new Redis(url, { ...common, ...roleOptions });
}

const REDIS_DOWN =
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|MaxRetriesPerRequest|Command timed out|connect ETIMEDOUT|LOADING/;

/** Whether an error means Redis cannot be reached right now (as opposed to a bug). */
export function isRedisUnavailable(err: unknown): boolean {
  return err instanceof Error && REDIS_DOWN.test(err.message);
}
