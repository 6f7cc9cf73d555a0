import { expect } from 'vitest';
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

/** Everything the dashboard's JSON API shows about every queue and each of its jobs. */
export async function dashboardDump(url: string, headers: Record<string, string> = {}) {
  const get = async (path: string) => {
    const res = await fetch(`${url}/dashboard/api${path}`, { headers });
    expect(res.status, path).toBe(200);
    return res.text();
  };
  const texts: string[] = [];
  const jobs: { queue: string; id: string; name: string; data: unknown }[] = [];
  for (const queue of ['introspection', 'processing', 'timeouts', 'maintenance']) {
    const page = await get(`/queues?activeQueue=${queue}&status=latest&page=1&jobsPerPage=1000`);
    texts.push(page);
    const listed = (
      JSON.parse(page) as { queues: { name: string; jobs: typeof jobs }[] }
    ).queues.find((q) => q.name === queue)!.jobs;
    for (const job of listed) {
      jobs.push({ ...job, queue });
      texts.push(await get(`/queues/${queue}/${encodeURIComponent(job.id)}`));
    }
  }
  texts.push(await get('/redis/stats'));
  return { text: texts.join('\n'), jobs };
}
