import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '@inspector/shared';

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Takes the caller's X-Request-Id when it is sane, else makes one; echoes it back. */
export function requestId(logger: Logger): Middleware {
  return async (ctx, next) => {
    const given = ctx.get('X-Request-Id');
    const reqId = SAFE_ID.test(given) ? given : `req-${randomUUID()}`;
    ctx.state.reqId = reqId;
    // Made on first use: most answers (status reads) log nothing, and a child per request
    // was a measurable share of the API's allocations.
    let log: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      get: () => (log ??= logger.child({ reqId })),
      enumerable: true,
      configurable: true,
    });
    ctx.set('X-Request-Id', reqId);
    await next();
  };
}
