import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, freePort } from '../helpers/processes.ts';

/** `npm run demo` with --exit-when-done: it introspects its nodes, then leaves nothing behind. */
const NODES = 3;

function runDemo(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Command lines of the processes still running that mention `text`. */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(cmdline.replaceAll('\0', ' '));
  }
  return found;
}

describe.each([
  ['simulated BMCs (ipmitool)', []],
  ['power through Ironic', ['--ironic-power']],
])('npm run demo, %s', (_, extra) => {
  it(`introspects ${NODES} nodes, prints the dashboard URL, then cleans up`, async () => {
    const port = await freePort();
    const { code, output } = await runDemo([
      '--nodes',
      String(NODES),
      '--port',
      String(port),
      '--exit-when-done',
      ...extra,
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain(`Dashboard:   http://127.0.0.1:${port}/dashboard`);
    expect(output).toMatch(
      /starting \d+ · waiting \d+ · processing \d+ · finished \d+ · error \d+/,
    );
    expect(output).toMatch(
      new RegExp(`All ${NODES} nodes done in [\\d.]+ s: ${NODES} finished, 0 in error\\.`),
    );

    const redisPort = Number(/Redis: redis:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
    const logs = /Logs: +(\S+)\/\{api,worker,redis\}\.log/.exec(output)?.[1];
    expect(redisPort).toBeGreaterThan(0);
    expect(logs).toBeDefined();
    expect(await answers(port)).toBe(false);
    expect(await answers(redisPort)).toBe(false);
    expect(existsSync(logs!)).toBe(false);
    // The BMC simulators' processes name their directory, inside the demo's.
    expect(await processesMentioning(path.join(logs!, 'bmcs'))).toEqual([]);
  }, 120_000);
});
