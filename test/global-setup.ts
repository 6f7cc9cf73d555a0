import { portAnswers, redisServerInstalled } from '../scripts/lib/redis-server.ts';
import { startPrivateRedis, type PrivateRedis } from './helpers/redis-server.ts';

/**
 * The suites need a Redis. With REDIS_URL set they use that one; otherwise the one on
 * 127.0.0.1:6379 when it answers, or a private redis-server started here for the run (its URL
 * reaches every test file and every service the tests start through REDIS_URL).
 */
let started: PrivateRedis | null = null;

export async function setup(): Promise<void> {
  if (process.env.REDIS_URL || (await portAnswers(6379))) return;
  if (!redisServerInstalled()) {
    throw new Error(
      'The tests need Redis: nothing answers on 127.0.0.1:6379, REDIS_URL is unset and redis-server is not installed (Debian: apt-get install redis-server)',
    );
  }
  started = await startPrivateRedis('everysec');
  process.env.REDIS_URL = started.url;
  console.info(`Started a private redis-server for the tests at ${started.url}`);
}

export async function teardown(): Promise<void> {
  await started?.destroy();
}
