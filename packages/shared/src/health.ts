import type { RedisClient } from './redis.ts';

/** Settles with `promise`, or rejects once `ms` have passed; the timer never holds the process. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Readiness of a Redis connection: resolves when it answers PING in time,
 * else rejects with a message fit for a 503 body (no URL, so no password).
 */
export async function pingRedis(redis: RedisClient, timeoutMs: number): Promise<void> {
  // Not queued while disconnected: a long outage would pile up one PING per probe.
  if (redis.status !== 'ready') {
    throw new Error(`Redis is not available: the connection is ${redis.status}`);
  }
  try {
    await withTimeout(redis.ping(), timeoutMs, 'Redis PING');
  } catch (err) {
    throw new Error(`Redis is not available: ${(err as Error).message}`);
  }
}
