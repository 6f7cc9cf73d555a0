import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** Throws, naming the first missing tool and `needs` (what provides it), unless all are executables. */
export function requireExecutables(tools: readonly string[], needs: string): void {
  for (const tool of tools) {
    try {
      accessSync(tool, constants.X_OK);
    } catch {
      throw new Error(`${tool} is missing: ${needs}`);
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Calls `onLine` with each whole line of a text stream. A pipe hands over what
 * is there, so a line often arrives in two chunks: the part after the last
 * newline waits for the rest.
 */
export function lineSplitter(onLine: (line: string) => void): {
  push(text: string): void;
  end(): void;
} {
  let partial = '';
  return {
    push(text) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) onLine(line);
    },
    end() {
      if (partial) onLine(partial);
      partial = '';
    },
  };
}

export interface ServiceProcess {
  child: ChildProcess;
  /** Every line the process printed, stdout and stderr. */
  output: string[];
  /** Resolves when a printed line matches. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts one of the real entry points (apps/api, apps/worker, a fixture's CLI) as its own process. */
export function startService(
  entry: string,
  env: Record<string, string>,
  args: string[] = [],
  opts: { detached?: boolean } = {},
): ServiceProcess {
  const argv = ['--import', 'tsx', path.join(ROOT, entry), ...args];
  return startProcess(entry, process.execPath, argv, env, opts);
}

/** Starts any command from the repository's root, its output read line by line. */
export function startProcess(
  name: string,
  command: string,
  argv: string[],
  env: Record<string, string>,
  opts: { detached?: boolean } = {},
): ServiceProcess {
  const child = spawn(command, argv, {
    cwd: ROOT,
    // A process group of its own, for a test to signal as a terminal signals its foreground group.
    detached: opts.detached ?? false,
    // Workers' HTTP servers on free ports, so test files running side by side never collide.
    env: { ...process.env, LOG_LEVEL: 'info', WORKER_HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (line: string) => {
    output.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8');
    const lines = lineSplitter(onLine);
    stream.on('data', (text: string) => lines.push(text));
    stream.on('end', () => lines.end());
  }
  // 'close', not 'exit': only then has every line the process printed been read.
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => resolve(code)),
  );
  return {
    child,
    output,
    waitFor(re, timeoutMs = 20_000) {
      const seen = output.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `${name} did not print ${re} in ${timeoutMs} ms:\n${output.slice(-20).join('\n')}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          re,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(
            new Error(
              `${name} exited (${code}) before printing ${re}:\n${output.slice(-20).join('\n')}`,
            ),
          );
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
