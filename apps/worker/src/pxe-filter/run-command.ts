import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs `argv` (no shell) with `input` on its stdin, failing with its stderr and how it ended,
 * named `what`. `timeoutMs` bounds it: a wedged service manager or a held xtables lock must not
 * hold the filter for ever.
 */
export async function runCommand(
  argv: readonly string[],
  timeoutMs: number,
  what = argv.join(' '),
  input?: string,
): Promise<string> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  try {
    const running = run(file, args, { timeout: timeoutMs });
    // A command that exits before reading its input fails the write with EPIPE: its exit says more.
    running.child.stdin?.on('error', () => undefined).end(input);
    return (await running).stdout;
  } catch (err) {
    const e = err as Error & {
      stderr?: string;
      code?: unknown;
      killed?: boolean;
      signal?: string | null;
    };
    // Node kills the child both on the timeout and past maxBuffer; only the code tells them apart.
    const how =
      e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
        ? 'output too long'
        : e.killed
          ? `timed out after ${timeoutMs / 1000} s`
          : e.signal
            ? `killed by ${e.signal}`
            : `exit ${String(e.code)}`;
    throw new Error(`${what} failed (${how}): ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
}
