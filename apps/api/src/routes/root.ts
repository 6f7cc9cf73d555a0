import type Router from '@koa/router';
import { MAX_VERSION } from '../middleware/api-version.ts';
import { selfUrl } from '../status-view.ts';

const RESOURCES = ['continue', 'introspection', 'rules'];

/** The public discovery documents that clients read before anything else. */
export function rootRoutes(router: Router): void {
  router.get('/', (ctx) => {
    ctx.body = {
      versions: [
        {
          id: `${MAX_VERSION[0]}.${MAX_VERSION[1]}`,
          status: 'CURRENT',
          links: [{ rel: 'self', href: `${selfUrl(ctx)}/v1` }],
        },
      ],
    };
  });
  router.get('/v1', (ctx) => {
    const origin = selfUrl(ctx);
    ctx.body = {
      resources: RESOURCES.map((name) => ({
        name,
        links: [{ rel: 'self', href: `${origin}/v1/${name}` }],
      })),
    };
  });
}
