import type { Job } from 'bullmq';
import { coerceError } from '@inspector/shared';
import type { WorkerContext } from '../context.ts';
import { endRun } from '../end-run.ts';
import { runNodeJob } from '../node-job.ts';
import { lazyNode } from '../power/power-driver.ts';

export const CANCELED = 'Canceled by operator';

/** Powers an aborted node off (failures only logged, as upstream) and ends its run. */
export async function abort(ctx: WorkerContext, bullJob: Job): Promise<void> {
  await runNodeJob(ctx, bullJob, ['aborting'], async ({ job, record, log }) => {
    if (record.manage_boot) {
      try {
        await ctx.power.powerOff(lazyNode(job.node, () => ctx.ironic.getNode(job.node)));
      } catch (err) {
        log.warn({ err: coerceError(err).message }, 'power off after abort failed');
      }
    }
    await endRun(ctx, job, 'abort_end', { error: CANCELED, record });
    log.info('introspection aborted');
  });
}
