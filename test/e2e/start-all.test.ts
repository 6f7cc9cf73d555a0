import { afterAll, describe, expect, it } from 'vitest';
import { START_TIMEOUT_MS } from '../helpers/ops.ts';
import { freePort, startService, type ServiceProcess } from '../helpers/processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from '../helpers/redis.ts';

/** `npm start` (scripts/start-all.ts): the API and a worker under one command, as a newcomer runs it. */
const prefix = testPrefix();
let proc: ServiceProcess | undefined;

afterAll(async () => {
  if (proc?.child.pid && proc.child.exitCode === null) process.kill(-proc.child.pid, 'SIGKILL');
  const redis = newRedis();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe('npm start', () => {
  it('on a Ctrl-C drains the API and the worker once each, then exits 0', async () => {
    const port = await freePort();
    proc = startService(
      'scripts/start-all.ts',
      {
        REDIS_URL,
        REDIS_PREFIX: prefix,
        PORT: String(port),
        HOST: '127.0.0.1',
        WORKER_HTTP_HOST: '127.0.0.1',
      },
      [],
      { detached: true },
    );
    await proc.waitFor(/API listening/, START_TIMEOUT_MS);
    await proc.waitFor(/worker started/, START_TIMEOUT_MS);
    const exited = new Promise<number | null>((resolve) => proc!.child.once('exit', resolve));
    // What a terminal does on Ctrl-C: SIGINT to every process of its foreground group.
    process.kill(-proc.child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    const lines = (re: RegExp) => proc!.output.filter((l) => re.test(l));
    expect(lines(/shutting down/)).toHaveLength(2);
    expect(lines(/"msg":"stopped"/)).toHaveLength(2);
    expect(lines(/second signal/)).toEqual([]);
  });
});
