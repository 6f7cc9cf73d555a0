import Router from '@koa/router';
import Koa from 'koa';
import { isAdmin } from './auth/access.ts';
import type { ApiDeps } from './deps.ts';
import { apiVersion } from './middleware/api-version.ts';
import { errorBodies } from './middleware/errors.ts';
import { requestId } from './middleware/request-id.ts';
import { dashboard } from './ops/dashboard.ts';
import { opsRoutes } from './ops/ops-routes.ts';
import { continueRoutes } from './routes/continue.ts';
import { introspectionRoutes } from './routes/introspection.ts';
import { rootRoutes } from './routes/root.ts';
import { rulesRoutes } from './routes/rules.ts';

/** Every route of the public API on one router, so tests can walk them all. */
export function createRouter(deps: ApiDeps): Router {
  const router = new Router();
  rootRoutes(router);
  continueRoutes(router, deps);
  introspectionRoutes(router, deps);
  rulesRoutes(router, deps);
  return router;
}

export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  app.proxy = deps.config.TRUST_PROXY_HEADERS;
  const router = createRouter(deps);
  app.use(requestId(deps.logger));
  app.use(errorBodies(deps.logger));
  // Probes, scrapers and the OpenAPI document: public, and free of version negotiation.
  app.use(opsRoutes(deps).routes());
  app.use(apiVersion());
  // Everything below needs credentials, except the routes in auth/access.ts PUBLIC_ROUTES.
  app.use(deps.auth.middleware);
  app.use(dashboard(deps.queues, isAdmin));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
