import type { ServiceProcess } from './processes.ts';

/** How long a test waits for a process to start: the two cores are shared with other suites. */
export const START_TIMEOUT_MS = 60_000;

/** The base URL of a worker process's own HTTP server, from the line it logs when listening. */
export async function workerHttpUrl(worker: ServiceProcess): Promise<string> {
  const line = await worker.waitFor(/worker http listening on http:\/\/\S+/, START_TIMEOUT_MS);
  return /worker http listening on (http:\/\/[^\s"]+)/.exec(line)![1]!;
}

/** The pino JSON lines a process printed (anything else, e.g. a stack trace, is left out). */
export function logLines(proc: ServiceProcess): Record<string, unknown>[] {
  return proc.output.flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Whether a process ended by itself (an exit code), not killed by a signal. */
export function exitedByItself(proc: ServiceProcess): boolean {
  return proc.child.exitCode !== null && proc.child.signalCode === null;
}
