import { coerceError } from '@inspector/shared';
import type { ApiDeps } from './deps.ts';

/**
 * Queues what carries a run on after the API has moved its state. A run left
 * without its job would wait for nothing (the ramdisk's retry only meets a
 * 403, a reapply has no timeout at all), so a failure ends the run in error at
 * once, best effort, saying why, and still reaches the caller (503 when Redis
 * is down).
 */
export async function enqueueForRun(
  deps: Pick<ApiDeps, 'store'>,
  run: { node: string; gen: number },
  what: string,
  enqueue: () => Promise<unknown>,
): Promise<void> {
  try {
    await enqueue();
  } catch (thrown) {
    const err = coerceError(thrown);
    await deps.store
      .transition(run.node, run.gen, 'error', {
        error: `Failed to enqueue the ${what} job: ${err.message}`,
      })
      .catch(() => undefined);
    throw err;
  }
}
