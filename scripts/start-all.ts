/**
 * `npm start`: the API and one worker process on one machine. When REDIS_URL
 * is unset and nothing answers on 127.0.0.1:6379, starts a private
 * redis-server with its append-only data under ./.data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { portAnswers, redisServerInstalled, spawnRedisServer } from './lib/redis-server.ts';

const root = path.resolve(import.meta.dirname, '..');
/** Signals closer together than this are one request to stop, delivered twice. */
const REPEAT_WINDOW_MS = 1000;

async function ensureRedis(env: NodeJS.ProcessEnv): Promise<ChildProcess | null> {
  if (env.REDIS_URL) return null;
  if (await portAnswers(6379)) {
    console.log('Using the Redis server on 127.0.0.1:6379');
    return null;
  }
  if (!redisServerInstalled()) {
    console.error(
      'No Redis answers on 127.0.0.1:6379 and redis-server is not installed.\n' +
        'Install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL to a Redis server.',
    );
    process.exit(1);
  }
  const dir = path.join(root, '.data');
  mkdirSync(dir, { recursive: true });
  const port = 6390;
  const redis = await spawnRedisServer({
    port,
    dir,
    persistence: 'everysec',
    detached: true,
  }).catch((err: Error) => {
    console.error(
      `Could not start a private redis-server: ${err.message} (one left from an earlier npm start? stop it, or set REDIS_URL)`,
    );
    process.exit(1);
  });
  env.REDIS_URL = `redis://127.0.0.1:${port}`;
  console.log(`Started a private redis-server on 127.0.0.1:${port}, append-only data in ${dir}`);
  return redis;
}

async function main(): Promise<void> {
  const env = { ...process.env };
  const redis = await ensureRedis(env);
  // Process groups of their own: a Ctrl-C reaches only this script, which passes it on once. In
  // the terminal's group, each would get it twice (from the terminal, then from here), and a
  // second signal means "exit at once", dropping requests and jobs in hand.
  const run = (entry: string) =>
    spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
      env,
      stdio: 'inherit',
      detached: true,
    });
  const children = [run('apps/api/src/main.ts'), run('apps/worker/src/main.ts')];
  let exiting = false;
  let firstSignalAt = 0;
  const stopAll = (signal: NodeJS.Signals) => {
    // Under `npm start` one Ctrl-C arrives twice, from the terminal and forwarded by npm: only a
    // signal well after the first is a second request, which makes the services exit at once.
    if (exiting && Date.now() - firstSignalAt < REPEAT_WINDOW_MS) return;
    for (const child of children) child.kill(signal);
    if (exiting) redis?.kill('SIGKILL');
    exiting = true;
    firstSignalAt ||= Date.now();
  };
  process.on('SIGINT', () => stopAll('SIGINT'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  // The terminal closing hangs up its group (npm and this script, not the services, which have
  // groups of their own): the services must not outlive it.
  process.on('SIGHUP', () => stopAll('SIGTERM'));
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
