import type { Middleware } from 'koa';
import {
  InspectorError,
  ServiceUnavailable,
  coerceError,
  isRedisUnavailable,
  type Logger,
} from '@inspector/shared';

const DEFAULT_MESSAGES: Record<number, string> = {
  404: 'The requested URL was not found on the server',
  405: 'The method is not allowed for the requested URL',
  501: 'The method is not implemented',
};

/**
 * Seconds a caller should wait after a 503 (Redis, Keystone or Ironic not answering, or the
 * service's own Keystone credentials refused): about how long a Redis reconnection or one round
 * of Ironic retries takes, so a client that honours Retry-After neither hammers the service nor
 * waits for nothing.
 */
export const RETRY_AFTER_S = 5;

function notFoundMessage(path: string): string {
  const version = /^\/([^/]+)\/?$/.exec(path)?.[1];
  return version && version !== 'v1' ? `Version ${version} not found.` : DEFAULT_MESSAGES[404]!;
}

/**
 * The outermost middleware: every failure, and every empty error status that
 * the router leaves (unknown route, wrong method), becomes
 * `{"error": {"message": ...}}`. Unknown errors are logged and answered with a
 * bare 500 that shows no internals.
 */
export function errorBodies(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status >= 400 && ctx.body == null) {
        const status = ctx.status;
        const message = status === 404 ? notFoundMessage(ctx.path) : DEFAULT_MESSAGES[status];
        ctx.body = { error: { message: message ?? `HTTP ${status}` } };
        // Setting a body on Koa's implicit 404 would turn it into a 200.
        ctx.status = status;
      }
    } catch (thrown) {
      const caught = coerceError(thrown);
      const err = isRedisUnavailable(caught)
        ? new ServiceUnavailable('The state store (Redis) is unavailable, retry later', caught)
        : caught;
      // Koa and the router throw http-errors carrying `status` and `expose` (e.g. 405, 413).
      const httpErr = err as Error & { status?: unknown; expose?: unknown };
      const status =
        err instanceof InspectorError
          ? err.status
          : typeof httpErr.status === 'number'
            ? httpErr.status
            : 500;
      // A 4xx is about the request, so its message is the caller's to read, even from a parser
      // that sets a status but not `expose` (co-body, under the dashboard).
      const expose =
        err instanceof InspectorError ? err.expose : httpErr.expose === true || status < 500;
      if (status >= 500) {
        (ctx.state.log ?? logger).error({ err, status }, 'request failed');
      }
      ctx.status = status;
      if (status === 503) ctx.set('Retry-After', String(RETRY_AFTER_S));
      ctx.body = { error: { message: expose ? err.message : 'Internal server error' } };
    }
  };
}
