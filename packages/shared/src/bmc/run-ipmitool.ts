import { spawn } from 'node:child_process';
import type { IpmitoolOutcome } from './bmc-error.ts';

export interface RunOptions {
  /** The child's whole environment (IPMI_PASSWORD included). */
  env: Record<string, string>;
  /** Kill the child with SIGKILL after this many milliseconds. */
  timeoutMs: number;
}

/** Runs ipmitool (or a stand-in in tests); resolves in every case, never rejects. */
export type IpmitoolRunner = (
  file: string,
  args: readonly string[],
  opts: RunOptions,
) => Promise<IpmitoolOutcome>;

const MAX_OUTPUT = 256 * 1024;

/**
 * Spawns `file` without a shell, collects stdout and stderr (capped at 256 KiB each) and kills it
 * with SIGKILL after `timeoutMs` (ipmitool has no state worth a graceful exit).
 */
export const spawnIpmitool: IpmitoolRunner = (file, args, opts) =>
  new Promise((resolve) => {
    const started = performance.now();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    let spawnErrorCode: string | undefined;
    let done = false;

    const child = spawn(file, args, {
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);

    child.stdout.on('data', (b: Buffer) => {
      if (outLen < MAX_OUTPUT) out.push(b);
      outLen += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < MAX_OUTPUT) err.push(b);
      errLen += b.length;
    });
    const finish = (exitCode: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        exitCode,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        elapsedMs: performance.now() - started,
        spawnErrorCode,
      });
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      // Only a failed spawn matters (a failed kill is followed by 'close' as usual); after a
      // failed spawn, 'close' may never come.
      if (child.pid !== undefined) return;
      spawnErrorCode = e.code ?? 'UNKNOWN';
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
