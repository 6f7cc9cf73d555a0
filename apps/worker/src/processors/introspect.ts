import { DelayedError, type Job } from 'bullmq';
import { bootJobSettled } from '../boot-job.ts';
import type { WorkerContext } from '../context.ts';
import {
  JOB_RUN_STATES,
  JobNotDelayed,
  RunMovedOn,
  assertRunStillIn,
  runNodeJob,
} from '../node-job.ts';
import { lazyNode } from '../power/power-driver.ts';
import { startOverOnLostAnswer } from '../start-over.ts';

/**
 * How long a boot job may wait before asking for its turn again. Its wait counts the places
 * ahead of it when it asked; runs that end or restart meanwhile give theirs up, and only a job
 * that asks again finds that out. Without a bound, a batch aborted and started again would
 * queue behind its own dead places.
 */
export function recheckMs(gapMs: number): number {
  return Math.max(3 * gapMs, 10_000);
}

/**
 * Boots a node into the ramdisk. The run is `waiting` before the power-on is
 * sent: a fast ramdisk (or one already running) may call back at once. A
 * retry of this job after that point (a worker that died mid-job) finds the
 * run waiting and boots again, PXE set again first: the one-time boot device
 * lasts one boot, which the first attempt may have used up. A reboot whose answer was lost
 * starts over the same way, within the job (startOverOnLostAnswer).
 *
 * Reboots are paced (INTROSPECTION_DELAY_S): a job whose turn has not come
 * goes back to BullMQ's delayed set until it has (or until it asks again,
 * see recheckMs), holding no worker slot and spending no attempt, and the run
 * stays `starting` meanwhile.
 */
export async function introspect(ctx: WorkerContext, bullJob: Job, token?: string): Promise<void> {
  await runNodeJob(ctx, bullJob, JOB_RUN_STATES.introspect, async ({ job, record, log }) => {
    if (!record.manage_boot) {
      await ctx.store.transition(job.node, job.gen, 'wait', { record });
      log.info('boot not managed: waiting for the node to be powered on by hand');
      return;
    }
    // Started again while the last run's boot job still tries its reboot (Ironic answering 409):
    // landing after this run's PXE setting, that reboot would use it up, and this run's own
    // reboot would start the node from disk. The wait can outlast this run too.
    const { replaced } = job;
    if (replaced) {
      if (!(await bootJobSettled(ctx, { node: job.node, gen: replaced }))) {
        log.warn("the last run's boot job is still under way: booting anyway");
      }
      await assertRunStillIn(ctx, job, JOB_RUN_STATES.introspect);
    }
    const gapMs = ctx.config.INTROSPECTION_DELAY_S * 1000;
    if (gapMs > 0) {
      const waitMs = await ctx.store.reserveReboot(job.node, job.gen, gapMs);
      if (waitMs > 0) {
        log.debug({ waitMs }, 'reboot paced by INTROSPECTION_DELAY_S: job delayed');
        const delayMs = Math.min(waitMs, recheckMs(gapMs));
        await bullJob.moveToDelayed(Date.now() + delayMs, token).catch((err: unknown) => {
          throw new JobNotDelayed(err);
        });
        throw new DelayedError();
      }
    }
    const node = lazyNode(ctx.ironic, job.node);
    let state = record.state;
    await startOverOnLostAnswer(ctx, log, async (attempt) => {
      if (attempt > 1) await assertRunStillIn(ctx, job, ['waiting']);
      await ctx.power.setPxeBoot(node);
      if (state === 'starting') {
        const moved = await ctx.store.transition(job.node, job.gen, 'wait', { record });
        if (!moved.ok) throw new RunMovedOn(moved.state);
        state = 'waiting';
      } else {
        // Started over, or a retried job: the PXE call may have waited out an abort or a timeout.
        await assertRunStillIn(ctx, job, ['waiting']);
      }
      await ctx.power.reboot(node);
    });
    log.info({ driver: ctx.power.name }, 'node set to boot from PXE and powered on');
  });
}
