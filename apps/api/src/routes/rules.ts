import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import { Conflict, NotFound, parseRule, type Rule } from '@inspector/shared';
import { readJson } from '../body.ts';
import type { ApiDeps } from '../deps.ts';
import { versionAtLeast } from '../middleware/api-version.ts';

/** Upstream's links here are relative, unlike those of statuses. */
const links = (uuid: string) => [{ href: `/v1/rules/${uuid}`, rel: 'self' }];
const ruleView = (rule: Rule) => ({ ...rule, links: links(rule.uuid) });
const notFound = (uuid: string) => new NotFound(`Rule ${uuid} was not found`);

/** Introspection rules (API 1.2): applied to every processing and reapply, oldest first. */
export function rulesRoutes(router: Router, deps: ApiDeps): void {
  const { rules, config } = deps;

  router.get('/v1/rules', async (ctx) => {
    ctx.body = {
      rules: (await rules.list()).map(({ uuid, description, scope }) => ({
        uuid,
        description,
        scope,
        links: links(uuid),
      })),
    };
  });

  router.post('/v1/rules', async (ctx) => {
    const rule = parseRule(await readJson(ctx, config.MAX_BODY_BYTES), randomUUID);
    if (!(await rules.create(rule)))
      throw new Conflict(`Rule with UUID ${rule.uuid} already exists`);
    ctx.state.log.info({ rule: rule.uuid }, 'introspection rule created');
    // Creation answered 200 before API 1.6.
    ctx.status = versionAtLeast(ctx.state.apiVersion, [1, 6]) ? 201 : 200;
    ctx.body = ruleView(rule);
  });

  router.delete('/v1/rules', async (ctx) => {
    await rules.deleteAll();
    ctx.state.log.info('every introspection rule deleted');
    ctx.status = 204;
  });

  router.get('/v1/rules/:uuid', async (ctx) => {
    const rule = await rules.get(ctx.params.uuid!);
    if (!rule) throw notFound(ctx.params.uuid!);
    ctx.body = ruleView(rule);
  });

  router.delete('/v1/rules/:uuid', async (ctx) => {
    if (!(await rules.delete(ctx.params.uuid!))) throw notFound(ctx.params.uuid!);
    ctx.state.log.info({ rule: ctx.params.uuid }, 'introspection rule deleted');
    ctx.status = 204;
  });
}
