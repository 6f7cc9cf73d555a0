import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { StateStore } from '@inspector/shared';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A hash-tagged prefix of its own, so test files never see each other's keys. */
export function testPrefix(): string {
  return `{t${randomBytes(6).toString('hex')}}`;
}

/** Deletes every key under a prefix (tests run against a shared Redis). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

export function newRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null });
}

/** A state store on a prefix of its own in the test Redis; `close` drops its keys. */
export function testStore(): { redis: Redis; store: StateStore; close(): Promise<void> } {
  const redis = newRedis();
  const prefix = testPrefix();
  const store = new StateStore(redis, { prefix, keepTimeMs: 60_000, secretTtlMs: 60_000 });
  return {
    redis,
    store,
    async close() {
      await dropPrefix(redis, prefix);
      await redis.quit();
    },
  };
}
