import {
  IronicAnswerLost,
  causeChain,
  coerceError,
  ironicRetryPolicy,
  withRetry,
  type Logger,
} from '@inspector/shared';
import type { WorkerContext } from './context.ts';

/**
 * Runs a step that ends in a call Ironic must not get twice (a reboot, a node update). When
 * that call's answer is lost, the whole step runs again (PXE boot set again, the update
 * computed again from the node), with the Ironic client's own back-off: a proxy's error page
 * while Ironic restarts ends a run no sooner than it would for any other call. `step` is told
 * its attempt (from 1), to check its run again before starting over.
 */
export function startOverOnLostAnswer<T>(
  ctx: WorkerContext,
  log: Logger,
  step: (attempt: number) => Promise<T>,
): Promise<T> {
  return withRetry(ironicRetryPolicy(ctx.config, 'worker'), step, (err) => {
    const lost = [...causeChain(err)].some((e) => e instanceof IronicAnswerLost);
    if (lost) log.warn({ err: coerceError(err).message }, 'Ironic answer lost: step started over');
    return lost;
  });
}
