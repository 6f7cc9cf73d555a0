import { IronicError, isRedisUnavailable } from '@inspector/shared';

/** An error and the causes under it, outermost first (a few levels: chains are short). */
export function* causeChain(err: unknown): Generator<unknown> {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) yield e;
}

/** Whether a later attempt could succeed: walks the cause chain for a transient root. */
export function isTransient(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (e instanceof IronicError) return e.transient;
    if (isRedisUnavailable(e)) return true;
    if (typeof (e as { retryable?: unknown }).retryable === 'boolean') {
      return (e as { retryable: boolean }).retryable;
    }
  }
  return false;
}
