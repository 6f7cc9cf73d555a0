import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnRedisServer } from '../../scripts/lib/redis-server.ts';
import { freePort } from './processes.ts';

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops the server (SIGTERM writes the append-only file; SIGKILL loses what was not synced). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A redis-server of a test's own, append-only; with fsync on every write by
 * default, so a restart loses nothing (`everysec` for load tests).
 */
export async function startPrivateRedis(
  fsync: 'always' | 'everysec' = 'always',
): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'redis-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    child = await spawnRedisServer({ port, dir, persistence: fsync });
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
    child = null;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop,
    start,
    async destroy() {
      await stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
