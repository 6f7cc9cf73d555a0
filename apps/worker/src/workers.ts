import { UnrecoverableError, Worker } from 'bullmq';
import type { RedisClient } from '@inspector/shared';
import { JOBS_TO_QUEUE, QueueName, type JobName } from '@inspector/shared';
import type { WorkerContext } from './context.ts';
import { processors } from './processors/index.ts';

/** One BullMQ worker per queue, each dispatching on the job's name. */
export function startWorkers(ctx: WorkerContext, connection: RedisClient): Worker[] {
  const table = processors(ctx);
  for (const name of Object.keys(JOBS_TO_QUEUE) as JobName[]) {
    if (typeof table[name] !== 'function') throw new Error(`Job ${name} has no processor`);
  }
  return Object.values(QueueName).map((queue) => {
    const worker = new Worker(
      queue,
      async (job) => {
        const run = table[job.name as JobName];
        if (!run) throw new UnrecoverableError(`No processor for job ${job.name}`);
        await run(ctx, job);
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
    worker.on('failed', (job, err) =>
      ctx.logger.warn({ queue, jobId: job?.id, err: err.message }, 'job attempt failed'),
    );
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
