import { afterAll, describe, expect, it } from 'vitest';
import { START_TIMEOUT_MS } from '../helpers/ops.ts';
import { freePort, startProcess, type ServiceProcess } from '../helpers/processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from '../helpers/redis.ts';

/** `npm start` (scripts/start-all.ts): the API and a worker under one command, as a newcomer runs it. */
const prefix = testPrefix();
let proc: ServiceProcess | undefined;

/** The API's and the worker's pids, from their log lines: they run in process groups of their own. */
const servicePids = () =>
  new Set(
    (proc?.output ?? []).flatMap((line) => {
      const pid = /"pid":(\d+)/.exec(line)?.[1];
      return pid ? [Number(pid)] : [];
    }),
  );

afterAll(async () => {
  for (const pid of [...servicePids(), proc?.child.pid]) {
    try {
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already, as it should be
    }
  }
  const redis = newRedis();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

describe('npm start', () => {
  it('on a Ctrl-C drains the API and the worker once each', async () => {
    const port = await freePort();
    proc = startProcess(
      'npm start',
      'npm',
      ['start', '--silent'],
      {
        REDIS_URL,
        REDIS_PREFIX: prefix,
        PORT: String(port),
        HOST: '127.0.0.1',
        WORKER_HTTP_HOST: '127.0.0.1',
      },
      { detached: true },
    );
    await proc.waitFor(/API listening/, START_TIMEOUT_MS);
    await proc.waitFor(/worker started/, START_TIMEOUT_MS);
    // 'close', not 'exit': the services' last lines may still be in the pipe when npm exits.
    const exited = new Promise<string>((resolve) =>
      proc!.child.once('close', (code, signal) => resolve(signal ?? String(code))),
    );
    // What a terminal does on Ctrl-C: SIGINT to every process of its foreground group, which
    // holds npm and the script it runs (npm forwards the signal to it as well).
    process.kill(-proc.child.pid!, 'SIGINT');
    // npm, once its script has ended, re-raises the SIGINT it got on itself: the shell's ^C.
    expect(['0', 'SIGINT']).toContain(await exited);
    const lines = (re: RegExp) => proc!.output.filter((l) => re.test(l));
    expect(lines(/shutting down/)).toHaveLength(2);
    expect(lines(/"msg":"stopped"/)).toHaveLength(2);
    expect(lines(/second signal/)).toEqual([]);
    expect(servicePids().size).toBe(2);
  });
});
