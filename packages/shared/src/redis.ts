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

/**
 * Resolves once the connection is ready, or after `timeoutMs` either way: a
 * process may start while Redis is down and answer 503 until it is back, but
 * should not refuse its first requests merely because it is still connecting.
 */
export function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
