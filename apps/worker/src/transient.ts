import { IronicError, causeChain, isRedisUnavailable } from '@inspector/shared';

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
