import { IronicError, isRedisUnavailable } from '@inspector/shared';

/** Whether a later attempt could succeed: walks the cause chain for a transient root. */
export function isTransient(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as Error).cause, depth++) {
    if (e instanceof IronicError) return e.transient;
    if (isRedisUnavailable(e)) return true;
    if (typeof (e as { retryable?: unknown }).retryable === 'boolean') {
      return (e as { retryable: boolean }).retryable;
    }
  }
  return false;
}
