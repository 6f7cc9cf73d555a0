import Router from '@koa/router';
import Koa from 'koa';
import type { ApiDeps } from './deps.ts';
import { apiVersion } from './middleware/api-version.ts';
import { errorBodies } from './middleware/errors.ts';
import { requestId } from './middleware/request-id.ts';
import { continueRoutes } from './routes/continue.ts';
import { introspectionRoutes } from './routes/introspection.ts';
import { rootRoutes } from './routes/root.ts';

/** Every route of the public API on one router, so tests can walk them all. */
export function createRouter(deps: ApiDeps): Router {
  const router = new Router();
  rootRoutes(router);
  continueRoutes(router, deps);
  introspectionRoutes(router, deps);
  return router;
}

export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const router = createRouter(deps);
  app.use(requestId(deps.logger));
  app.use(errorBodies(deps.logger));
  app.use(apiVersion());
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
