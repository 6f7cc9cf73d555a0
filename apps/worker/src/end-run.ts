import type { NodeJob, TransitionOptions, TransitionResult } from '@inspector/shared';
import type { WorkerContext } from './context.ts';

/**
 * Ends a run (finished, error, canceled) and drops its pending timeout job,
 * which would otherwise wait in Redis for the whole timeout to do nothing.
 */
export async function endRun(
  ctx: WorkerContext,
  job: NodeJob,
  event: 'finish' | 'error' | 'abort_end' | 'timeout',
  opts: TransitionOptions = {},
): Promise<TransitionResult> {
  const moved = await ctx.store.transition(job.node, job.gen, event, opts);
  if (moved.ok && event !== 'timeout') {
    await ctx.queues
      .cancelTimeout(job)
      .catch((err: Error) =>
        ctx.logger.warn({ node: job.node, err: err.message }, 'could not drop the timeout job'),
      );
  }
  return moved;
}
