/**
 * A private redis-server per benchmark stack, started the one way the
 * repository starts them (scripts/lib/redis-server.ts), without persistence:
 * nothing else writes to it and no disk is in the figures, so its memory and
 * CPU belong to the service alone.
 */
import { openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { redisServerInstalled, spawnRedisServer } from '../../scripts/lib/redis-server.ts';
import { freePort, reapOnExit } from './processes.ts';

export interface BenchRedis {
  url: string;
  pid: number;
  /** The bench's own connection (reads only what it measures). */
  client: Redis;
  stop(): Promise<void>;
}

export async function startRedis(logDir: string): Promise<BenchRedis> {
  if (!redisServerInstalled()) {
    throw new Error('redis-server is not installed (Debian: apt-get install redis-server)');
  }
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'inspector-bench-redis-'));
  await mkdir(logDir, { recursive: true });
  const log = openSync(path.join(logDir, 'redis.log'), 'a');
  try {
    const child = await spawnRedisServer({
      port,
      dir,
      persistence: 'off',
      stdio: ['ignore', log, log],
    });
    reapOnExit(child);
    const url = `redis://127.0.0.1:${port}`;
    const client = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'bench' });
    const exited = new Promise((r) => child.once('exit', r));
    return {
      url,
      pid: child.pid!,
      client,
      async stop() {
        client.disconnect();
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } finally {
    closeSync(log);
  }
}

/** used_memory and used_memory_peak from INFO memory, in bytes. */
export async function usedMemory(client: Redis): Promise<{ used: number; peak: number }> {
  const info = await client.info('memory');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
  return { used: field('used_memory'), peak: field('used_memory_peak') };
}

/** Calls per command from the text of INFO commandstats (`cmdstat_get:calls=3,usec=...`). */
export function parseCommandStats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  return calls;
}

/** How many times the server has run each command so far. */
export async function commandCalls(client: Redis): Promise<Record<string, number>> {
  return parseCommandStats(await client.info('commandstats'));
}
