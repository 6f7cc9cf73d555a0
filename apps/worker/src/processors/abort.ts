import type { Job } from 'bullmq';
import {
  JOBS_TO_QUEUE,
  coerceError,
  ironicCallBudgetMs,
  jobId,
  sleep,
  type Config,
  type NodeJob,
} from '@inspector/shared';
import type { WorkerContext } from '../context.ts';
import { endRun } from '../end-run.ts';
import { JOB_RUN_STATES, runNodeJob } from '../node-job.ts';
import { lazyNode } from '../power/power-driver.ts';

export const CANCELED = 'Canceled by operator';

const BOOT_JOB_POLL_MS = 200;

/**
 * How long an abort waits for its run's boot job to end before it powers the node off anyway:
 * as long as the job's two Ironic calls (PXE boot, then the reboot) may take with their retries,
 * three minutes at the defaults, and never less than one.
 */
export function bootJobWaitMs(config: Config): number {
  return Math.max(2 * ironicCallBudgetMs(config, 'worker'), 60_000);
}

/**
 * Waits while the run's boot job is under way: a power-on it has sent, or retries after a 409
 * (the node locked by this very power-off), would otherwise land after the power-off and leave an
 * aborted node running the ramdisk. Once the run is `aborting`, a new attempt of that job skips.
 */
async function bootJobSettled(ctx: WorkerContext, job: NodeJob): Promise<boolean> {
  const queue = ctx.queues.byName[JOBS_TO_QUEUE.introspect];
  const deadline = Date.now() + bootJobWaitMs(ctx.config);
  for (;;) {
    const boot = await queue.getJob(jobId('introspect', job));
    if (!boot || !(await boot.isActive())) return true;
    if (Date.now() > deadline) return false;
    await sleep(BOOT_JOB_POLL_MS);
  }
}

/** Powers an aborted node off (failures only logged, as upstream) and ends its run. */
export async function abort(ctx: WorkerContext, bullJob: Job): Promise<void> {
  await runNodeJob(ctx, bullJob, JOB_RUN_STATES.abort, async ({ job, record, log }) => {
    if (record.manage_boot) {
      if (!(await bootJobSettled(ctx, job))) {
        log.warn(
          { waitedMs: bootJobWaitMs(ctx.config) },
          'boot job still under way: powering off anyway',
        );
      }
      try {
        await ctx.power.powerOff(lazyNode(ctx.ironic, job.node));
      } catch (err) {
        log.warn({ err: coerceError(err).message }, 'power off after abort failed');
      }
    }
    await endRun(ctx, job, 'abort_end', { error: CANCELED, record });
    log.info('introspection aborted');
  });
}
