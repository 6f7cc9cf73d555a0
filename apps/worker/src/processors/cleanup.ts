import { TERMINAL_STATES } from '@inspector/shared';
import type { WorkerContext } from '../context.ts';
import { endRun } from '../end-run.ts';
import { forgetDeletedNodes } from './ironic-sync.ts';
import { TIMEOUT_ERROR } from './timeout.ts';

/**
 * Periodic: drops expired runs from the status index and finished jobs past
 * their retention from the queues, the runs of nodes deleted from Ironic
 * (IRONIC_SYNC) and, as a safety net for a lost timeout job, times out runs
 * older than the timeout.
 */
export async function cleanup(ctx: WorkerContext): Promise<void> {
  const removed = await ctx.store.cleanup();
  let timedOut = 0;
  const timeoutMs = ctx.config.INTROSPECTION_TIMEOUT_S * 1000;
  if (timeoutMs > 0) {
    for (const record of await ctx.store.staleRuns(Date.now() - timeoutMs)) {
      if (TERMINAL_STATES.has(record.state)) continue;
      const run = { node: record.uuid, gen: record.gen, reqId: record.req_id };
      const moved = await endRun(ctx, run, 'timeout', { error: TIMEOUT_ERROR, record });
      if (moved.ok) timedOut++;
    }
  }
  const forgotten = ctx.config.IRONIC_SYNC ? await forgetDeletedNodes(ctx) : 0;
  const trimmed = await ctx.queues.trim();
  if (removed || timedOut || forgotten || trimmed)
    ctx.logger.info({ removed, timedOut, forgotten, trimmed }, 'clean-up pass');
}
