import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Context, Middleware } from 'koa';
import { Forbidden, type Queues } from '@inspector/shared';

export const DASHBOARD_PATH = '/dashboard';

function board(queues: Queues, readOnlyMode: boolean): Middleware {
  const serverAdapter = new KoaAdapter().setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: Object.values(queues.byName).map((q) => new BullMQAdapter(q, { readOnlyMode })),
    serverAdapter,
    options: {
      uiConfig: { boardTitle: readOnlyMode ? 'Inspector queues (read-only)' : 'Inspector queues' },
    },
  });
  return serverAdapter.registerPlugin();
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * bull-board over every queue at /dashboard: two boards on the same queues,
 * full control for admins and read-only for every other caller. It must sit
 * behind authentication, which decides who reaches it at all. Read-only
 * boards refuse changes themselves (405); anything but a read is refused here
 * first, so no change can slip through a route that board forgets to guard.
 */
export function dashboard(queues: Queues, isAdmin: (ctx: Context) => boolean): Middleware {
  const admin = board(queues, false);
  const readOnly = board(queues, true);
  return async (ctx, next) => {
    if (ctx.path !== DASHBOARD_PATH && !ctx.path.startsWith(`${DASHBOARD_PATH}/`)) return next();
    if (isAdmin(ctx)) return admin(ctx, next);
    if (!READ_METHODS.has(ctx.method)) {
      throw new Forbidden('The queue dashboard is read-only for callers without the admin role');
    }
    return readOnly(ctx, next);
  };
}
