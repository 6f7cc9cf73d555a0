import type { Job } from 'bullmq';
import { coerceError } from '@inspector/shared';
import { bootJobSettled, bootJobWaitMs } from '../boot-job.ts';
import type { WorkerContext } from '../context.ts';
import { endRun } from '../end-run.ts';
import { JOB_RUN_STATES, assertRunStillIn, runNodeJob } from '../node-job.ts';
import { lazyNode } from '../power/power-driver.ts';

export const CANCELED = 'Canceled by operator';

/** Powers an aborted node off (failures only logged, as upstream) and ends its run. */
export async function abort(ctx: WorkerContext, bullJob: Job): Promise<void> {
  await runNodeJob(ctx, bullJob, JOB_RUN_STATES.abort, async ({ job, record, log }) => {
    if (record.manage_boot) {
      // A power-on the boot job has sent, or retries after a 409 (the node locked by this very
      // power-off), would land after the power-off and leave an aborted node in the ramdisk.
      // Once the run is `aborting`, a new attempt of that job skips.
      if (!(await bootJobSettled(ctx, job))) {
        log.warn(
          { waitedMs: bootJobWaitMs(ctx.config) },
          'boot job still under way: powering off anyway',
        );
      }
      // The wait can outlast the run: timed out, and the node started again, it is not ours.
      await assertRunStillIn(ctx, job, JOB_RUN_STATES.abort);
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
