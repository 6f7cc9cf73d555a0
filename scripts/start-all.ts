/**
 * `npm start`: the API and one worker process on one machine. When REDIS_URL
 * is unset and nothing answers on 127.0.0.1:6379, starts a private
 * redis-server with its append-only data under ./.data.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function answers(port: number, host = '127.0.0.1'): Promise<boolean> {
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

async function ensureRedis(env: NodeJS.ProcessEnv): Promise<ChildProcess | null> {
  if (env.REDIS_URL) return null;
  if (await answers(6379)) {
    console.log('Using the Redis server on 127.0.0.1:6379');
    return null;
  }
  if (spawnSync('redis-server', ['--version']).error) {
    console.error(
      'No Redis answers on 127.0.0.1:6379 and redis-server is not installed.\n' +
        'Install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL to a Redis server.',
    );
    process.exit(1);
  }
  const dir = path.join(root, '.data');
  mkdirSync(dir, { recursive: true });
  const port = 6390;
  const redis = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--save',
      '',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 50 && !(await answers(port)); i++)
    await new Promise((r) => setTimeout(r, 100));
  env.REDIS_URL = `redis://127.0.0.1:${port}`;
  console.log(`Started a private redis-server on 127.0.0.1:${port}, append-only data in ${dir}`);
  return redis;
}

async function main(): Promise<void> {
  const env = { ...process.env };
  const redis = await ensureRedis(env);
  const run = (entry: string) =>
    spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], { env, stdio: 'inherit' });
  const children = [run('apps/api/src/main.ts'), run('apps/worker/src/main.ts')];
  let exiting = false;
  const stopAll = (signal: NodeJS.Signals) => {
    for (const child of children) child.kill(signal);
    if (exiting) redis?.kill('SIGKILL');
    exiting = true;
  };
  process.on('SIGINT', () => stopAll('SIGINT'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  let alive = children.length;
  for (const child of children) {
    child.on('exit', (code) => {
      alive--;
      if (!exiting) {
        exiting = true;
        for (const other of children) other.kill('SIGTERM');
        process.exitCode = code ?? 1;
      }
      if (alive === 0) redis?.kill('SIGTERM');
    });
  }
}

void main();
