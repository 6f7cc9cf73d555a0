/**
 * Starting a private redis-server: `npm start` without a Redis, the tests that
 * restart Redis, the benchmarks and the demo all do it the same way.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { connect } from 'node:net';

export function redisServerInstalled(): boolean {
  return !spawnSync('redis-server', ['--version']).error;
}

/** Whether something accepts TCP connections on the port. */
export function portAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export interface RedisServerOptions {
  port: number;
  /** Where its data (append-only file) lives. */
  dir: string;
  /** Append-only persistence: `always` loses nothing on a crash, `everysec` is faster; `off` keeps nothing. */
  persistence: 'always' | 'everysec' | 'off';
  stdio?: StdioOptions;
  /**
   * A process group of its own, so a Ctrl-C in the terminal reaches only its parent, which stops
   * it after the services that use it.
   */
  detached?: boolean;
}

/**
 * Spawns redis-server on 127.0.0.1 and resolves once it accepts connections. A port something
 * else already answers on is refused: the probe would take that process for the new server.
 */
export async function spawnRedisServer(opts: RedisServerOptions): Promise<ChildProcess> {
  if (await portAnswers(opts.port)) {
    throw new Error(`port ${opts.port} is taken already, so redis-server cannot listen there`);
  }
  const persistence =
    opts.persistence === 'off'
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', opts.persistence];
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(opts.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      opts.dir,
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
      ...persistence,
    ],
    { stdio: opts.stdio ?? 'ignore', detached: opts.detached ?? false },
  );
  for (let i = 0; i < 200; i++) {
    if (await portAnswers(opts.port)) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${opts.port}`);
}
