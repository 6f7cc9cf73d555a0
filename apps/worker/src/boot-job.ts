import { JOBS_TO_QUEUE, ironicCallBudgetMs, jobId, sleep, type Config } from '@inspector/shared';
import type { WorkerContext } from './context.ts';

const BOOT_JOB_POLL_MS = 200;

/**
 * How long to wait for a run's boot job to end: as long as the job's two Ironic calls (PXE boot,
 * then the reboot) may take with their retries, three minutes at the defaults, and never less
 * than one.
 */
export function bootJobWaitMs(config: Config): number {
  return Math.max(2 * ironicCallBudgetMs(config, 'worker'), 60_000);
}

/**
 * Waits while the boot job of the run `gen` of `node` is under way, for at most bootJobWaitMs:
 * true once it is not (done, or never made), false when the wait ran out. A reboot it has sent,
 * or retries after a 409, can land after what the caller is about to do to the node.
 */
export async function bootJobSettled(
  ctx: WorkerContext,
  run: { node: string; gen: number },
): Promise<boolean> {
  const queue = ctx.queues.byName[JOBS_TO_QUEUE.introspect];
  const deadline = Date.now() + bootJobWaitMs(ctx.config);
  for (;;) {
    const boot = await queue.getJob(jobId('introspect', { ...run, reqId: '' }));
    // A finished job is settled for good: no need to ask for its state.
    if (!boot || boot.finishedOn || !(await boot.isActive())) return true;
    if (Date.now() > deadline) return false;
    await sleep(BOOT_JOB_POLL_MS);
  }
}
