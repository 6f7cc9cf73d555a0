import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '@inspector/shared';
import {
  JOBS_TO_QUEUE,
  NodeJobSchema,
  QueueName,
  type JobName,
  type State,
} from '@inspector/shared';
import type { WorkerContext } from './context.ts';
import { endRun } from './end-run.ts';
import { JOB_RUN_STATES } from './node-job.ts';
import { processors } from './processors/index.ts';

/**
 * A job about a run that BullMQ failed for good without its processor ending the run: it stalled
 * too often (its workers kept dying), it threw before runNodeJob's guard, or no processor knows
 * its name. The run would otherwise stay active until its timeout; it ends now, saying why. A
 * failure BullMQ will retry, a job of a run that has ended, or one of a run another job has
 * taken over (JOB_RUN_STATES), changes nothing.
 */
async function endRunOfFailedJob(ctx: WorkerContext, job: Job, err: Error): Promise<void> {
  const data = NodeJobSchema.safeParse(job.data);
  if (!data.success) return;
  // Told from the failure itself first: with FAILED_JOB_KEEP_S=0 the job is gone from the failed
  // set before this event. A job that stalled too often fails as unrecoverable on its next pick-up.
  const final =
    err instanceof UnrecoverableError ||
    err.name === 'UnrecoverableError' ||
    job.attemptsMade >= (job.opts.attempts ?? 1) ||
    (await job.isFailed());
  if (!final) return;
  // A name none of ours (added by hand) may end the run from any state.
  const states: readonly State[] | undefined = Object.hasOwn(JOB_RUN_STATES, job.name)
    ? JOB_RUN_STATES[job.name as JobName]
    : undefined;
  if (states?.length === 0) return;
  const moved = await endRun(ctx, data.data, 'error', {
    error: `Job ${job.name} failed: ${err.message}`,
    onlyFrom: states,
  });
  if (moved.ok) ctx.logger.warn({ node: data.data.node, job: job.name }, 'run ended: job failed');
}

/** One BullMQ worker per queue, each dispatching on the job's name. */
export function startWorkers(ctx: WorkerContext, connection: RedisClient): Worker[] {
  const table = processors(ctx);
  for (const name of Object.keys(JOBS_TO_QUEUE) as JobName[]) {
    if (typeof table[name] !== 'function') throw new Error(`Job ${name} has no processor`);
  }
  return Object.values(QueueName).map((queue) => {
    const worker = new Worker(
      queue,
      async (job, token) => {
        const run = table[job.name as JobName];
        if (!run) throw new UnrecoverableError(`No processor for job ${job.name}`);
        await run(ctx, job, token);
      },
      {
        connection,
        prefix: ctx.config.REDIS_PREFIX,
        concurrency: queue === QueueName.Maintenance ? 1 : ctx.config.WORKER_CONCURRENCY,
        // A job whose worker died is picked up again after this long without a lock renewal.
        lockDuration: ctx.config.WORKER_LOCK_DURATION_MS,
        stalledInterval: ctx.config.WORKER_STALLED_INTERVAL_MS,
        maxStalledCount: 2,
        autorun: true,
      },
    );
    worker.on('error', (err) => ctx.logger.warn({ queue, err: err.message }, 'worker error'));
    worker.on('failed', (job, err) => {
      ctx.logger.warn({ queue, jobId: job?.id, err: err.message }, 'job attempt failed');
      if (!job) return;
      endRunOfFailedJob(ctx, job, err).catch((e: Error) =>
        ctx.logger.warn({ queue, jobId: job.id, err: e.message }, 'could not end the run'),
      );
    });
    return worker;
  });
}

/** The periodic clean-up, registered idempotently by every worker process. */
export async function scheduleCleanup(ctx: WorkerContext): Promise<void> {
  await ctx.queues.byName[QueueName.Maintenance].upsertJobScheduler(
    'cleanup',
    { every: ctx.config.CLEAN_UP_PERIOD_S * 1000 },
    { name: 'cleanup', data: {} },
  );
}
