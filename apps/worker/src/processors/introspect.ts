import type { Job } from 'bullmq';
import type { WorkerContext } from '../context.ts';
import { runNodeJob } from '../node-job.ts';

/** Boots a node into the ramdisk, then waits for its callback. */
export async function introspect(ctx: WorkerContext, bullJob: Job): Promise<void> {
  await runNodeJob(ctx, bullJob, ['starting'], async ({ job, record, log }) => {
    if (record.manage_boot) {
      const node = await ctx.ironic.getNode(job.node);
      await ctx.power.bootIntoRamdisk(node);
      log.info({ driver: ctx.power.name }, 'node set to boot from PXE and powered on');
    } else {
      log.info('boot not managed: waiting for the node to be powered on by hand');
    }
    const moved = await ctx.store.transition(job.node, job.gen, 'wait');
    if (!moved.ok) log.info({ state: moved.state }, 'run moved on while booting');
  });
}
