import Router from '@koa/router';
import { coerceError, pingConnections } from '@inspector/shared';
import type { ApiDeps } from '../deps.ts';
import { openApiDocument } from './openapi.ts';

/** How long a readiness probe waits for Redis's PING before it answers 503. */
export const READY_TIMEOUT_MS = 1000;

/**
 * Health, metrics and the OpenAPI document: public, mounted before
 * authentication and API-version negotiation, so probes and scrapers need
 * neither. None of them shows a secret or a node id.
 */
export function opsRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const document = openApiDocument();

  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await pingConnections(deps.connections, READY_TIMEOUT_MS);
      ctx.body = { status: 'ok' };
    } catch (err) {
      // Answered here, not thrown: a probe every few seconds must not log an error each time.
      ctx.status = 503;
      ctx.body = { error: { message: coerceError(err).message } };
    }
  });

  router.get('/metrics', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  router.get('/v1/openapi.json', (ctx) => {
    ctx.body = document;
  });

  return router;
}
