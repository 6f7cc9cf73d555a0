import type { NodeJob, TransitionOptions, TransitionResult } from '@inspector/shared';
import type { WorkerContext } from './context.ts';
import { settleRamdiskLogs } from './processors/ramdisk-logs.ts';

/**
 * Ends a run (finished, error, canceled), drops its pending timeout job, which
 * would otherwise wait in Redis for the whole timeout to do nothing, and
 * settles its ramdisk logs: written out when the run failed, as upstream does
 * on every failure path, and never left in Redis.
 */
export async function endRun(
  ctx: WorkerContext,
  job: NodeJob,
  event: 'finish' | 'error' | 'abort_end' | 'timeout',
  opts: TransitionOptions = {},
): Promise<TransitionResult> {
  const moved = await ctx.store.transition(job.node, job.gen, event, opts);
  if (!moved.ok) return moved;
  const at = { node: job.node, reqId: job.reqId };
  if (event !== 'timeout') {
    await ctx.queues
      .cancelTimeout(job)
      .catch((err: Error) =>
        ctx.logger.warn({ ...at, err: err.message }, 'could not drop the timeout job'),
      );
  }
  const keepLogs = event !== 'finish' || ctx.config.ALWAYS_STORE_RAMDISK_LOGS;
  await settleRamdiskLogs(ctx, job.node, keepLogs).then(
    (file) => file && ctx.logger.info({ ...at, file }, 'ramdisk logs stored'),
    (err: Error) =>
      ctx.logger.warn({ ...at, err: err.message }, 'could not store the ramdisk logs'),
  );
  return moved;
}
