import type Router from '@koa/router';
import { readJson } from '../body.ts';
import { continueIntrospection } from '../continue-introspection.ts';
import type { ApiDeps } from '../deps.ts';

export function continueRoutes(router: Router, deps: ApiDeps): void {
  router.post('/v1/continue', async (ctx) => {
    const body = await readJson(ctx, deps.config.MAX_BODY_BYTES);
    ctx.body = await continueIntrospection(deps, body, ctx.state.log, ctx.state.reqId);
  });
}
