import type { Job } from 'bullmq';
import type { WorkerContext } from '../context.ts';
import { endRun } from '../end-run.ts';
import { JOB_RUN_STATES, runNodeJob } from '../node-job.ts';

export const TIMEOUT_ERROR = 'Introspection timeout';

/** Ends a run still unfinished when its delayed timeout job fires. */
export async function timeout(ctx: WorkerContext, bullJob: Job): Promise<void> {
  await runNodeJob(ctx, bullJob, JOB_RUN_STATES.timeout, async ({ job, record, log }) => {
    const moved = await endRun(ctx, job, 'timeout', { error: TIMEOUT_ERROR, record });
    if (moved.ok) log.warn({ state: record.state }, 'introspection timed out');
  });
}
