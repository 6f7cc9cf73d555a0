import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** What a PXE filter knows at one sync, the same for every driver. */
export interface FilterState {
  /** MACs of nodes booting or running the ramdisk: always let through. */
  introspected: ReadonlySet<string>;
  /** Every port MAC Ironic has, or null before Ironic's ports were listed once. */
  ironic: ReadonlySet<string> | null;
  /** Some node is being introspected, or discovery is on: unknown machines may boot the ramdisk. */
  unknownAllowed: boolean;
}

/** How many MACs the driver lets through and keeps out after a sync, for the metrics. */
export interface FilterCounts {
  allow: number;
  deny: number;
}

/** How one kind of filter tells the DHCP server which machines to answer. */
export interface FilterDriver {
  readonly name: string;
  /** Before the first sync: clears what an earlier process left. */
  prepare(): Promise<void>;
  /**
   * Makes the DHCP server answer as `state` says. Never called twice at once. `full`: Ironic was
   * listed again, and the driver reads back what it keeps instead of trusting its memory.
   */
  apply(state: FilterState, full: boolean): Promise<FilterCounts>;
  /** After the first sync has been applied. */
  started(): Promise<void>;
  /** When the worker stops; after the last sync. */
  close(): Promise<void>;
}

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
    const e = err as Error & { stderr?: string; code?: unknown; killed?: boolean };
    const how = e.killed ? `timed out after ${timeoutMs / 1000} s` : `exit ${String(e.code)}`;
    throw new Error(`${what} failed (${how}): ${e.stderr?.trim() || e.message}`, {
      cause: err,
    });
  }
}
