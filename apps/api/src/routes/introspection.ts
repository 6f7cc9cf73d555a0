import type Router from '@koa/router';
import { z } from 'zod';
import {
  BadRequest,
  Conflict,
  NotFound,
  StateSchema,
  canTransition,
  isUuid,
  transitionMessage,
} from '@inspector/shared';
import { readJson } from '../body.ts';
import { parseRamdiskBody } from '../continue-introspection.ts';
import type { ApiDeps } from '../deps.ts';
import { enqueueForRun } from '../enqueue-for-run.ts';
import { resolveUuid } from '../node-ident.ts';
import { startIntrospection } from '../start-introspection.ts';
import { selfUrl, statusView } from '../status-view.ts';

const BOOLEANS: Record<string, boolean> = {
  '1': true,
  t: true,
  true: true,
  on: true,
  y: true,
  yes: true,
  '0': false,
  f: false,
  false: false,
  off: false,
  n: false,
  no: false,
};

/** A caller's value quoted in an error: a URL may be kilobytes long, the message stays short. */
function clip(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}

function parseBool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const b = typeof value === 'string' ? BOOLEANS[value.toLowerCase()] : undefined;
  if (b === undefined)
    throw new BadRequest(`Invalid boolean value for ${name}: ${clip(String(value))}`);
  return b;
}

function single(name: string, value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) throw new BadRequest(`Query parameter ${name} given more than once`);
  return value;
}

export function introspectionRoutes(router: Router, deps: ApiDeps): void {
  const { store, ironic, queues, config } = deps;

  const notInCache = (uuid: string) => new NotFound(`Could not find node ${uuid} in cache`);

  router.post('/v1/introspection/:node', async (ctx) => {
    const q = ctx.query;
    await startIntrospection(deps, {
      ident: ctx.params.node!,
      manageBoot: parseBool('manage_boot', single('manage_boot', q.manage_boot), true),
      newIpmiUsername: single('new_ipmi_username', q.new_ipmi_username),
      newIpmiPassword: single('new_ipmi_password', q.new_ipmi_password),
      reqId: ctx.state.reqId,
      log: ctx.state.log,
    });
    ctx.status = 202;
    ctx.body = {};
  });

  router.get('/v1/introspection/:node', async (ctx) => {
    const uuid = await resolveUuid(ironic, ctx.params.node!);
    const record = await store.getStatus(uuid);
    if (!record) throw notInCache(uuid);
    ctx.body = statusView(record, selfUrl(ctx));
  });

  const ListQuery = z.object({
    marker: z.string().refine(isUuid, 'Marker not UUID-like').optional(),
    limit: z
      .string()
      .regex(/^-?\d+$/, 'Limit must be an integer')
      .transform(Number)
      .refine((n) => n >= 0, 'Limit cannot be negative')
      .refine((n) => n <= config.API_MAX_LIMIT, `Limit over ${config.API_MAX_LIMIT}`)
      .optional(),
    state: z.string().optional(),
  });

  router.get('/v1/introspection', async (ctx) => {
    const parsed = ListQuery.safeParse({
      marker: single('marker', ctx.query.marker),
      limit: single('limit', ctx.query.limit),
      state: single('state', ctx.query.state),
    });
    if (!parsed.success) {
      throw new BadRequest(`Bad request: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    const { marker, limit, state } = parsed.data;
    const states = state?.split(',').map((s) => s.trim());
    const invalid = states?.filter((s) => !StateSchema.safeParse(s).success);
    if (invalid?.length)
      throw new BadRequest(`Bad request: State(s) "${clip(invalid.join(', '))}" are not valid`);
    const records = await store.list({
      marker: marker?.toLowerCase(),
      limit: limit || config.API_MAX_LIMIT,
      states: states?.map((s) => StateSchema.parse(s)),
    });
    if (!records) throw new NotFound(`Node ${marker} not found in introspection records (marker)`);
    const origin = selfUrl(ctx);
    ctx.body = { introspection: records.map((r) => statusView(r, origin)) };
  });

  router.post('/v1/introspection/:node/abort', async (ctx) => {
    const uuid = await resolveUuid(ironic, ctx.params.node!);
    const record = await store.get(uuid);
    if (!record) throw notInCache(uuid);
    const moved = await store.transition(uuid, record.gen, 'abort', { record });
    if (!moved.ok) {
      throw new Conflict(
        moved.reason === 'stale'
          ? `Node ${uuid} was restarted meanwhile, retry the abort`
          : `Cannot abort introspection of node ${uuid}: ${transitionMessage(record.state, 'abort')}`,
      );
    }
    const job = { node: uuid, gen: record.gen, reqId: ctx.state.reqId };
    await enqueueForRun(deps, job, 'abort', () => queues.add('abort', job));
    ctx.status = 202;
    ctx.body = {};
  });

  router.post('/v1/introspection/:node/data/unprocessed', async (ctx) => {
    const uuid = await resolveUuid(ironic, ctx.params.node!);
    const body = await readJson(ctx, config.MAX_BODY_BYTES);
    const record = await store.get(uuid);
    if (!record) throw notInCache(uuid);
    const refused = () =>
      new Conflict(
        `Cannot reapply introspection data of node ${uuid}: ${transitionMessage(record.state, 'reapply')}`,
      );
    let raw: string | undefined;
    if (body !== undefined) {
      // Logs are never stored with the data, as for the ramdisk's own callback.
      const { logs: _logs, ...data } = parseRamdiskBody(body);
      raw = JSON.stringify(data);
    }
    // Before the stored data is looked for: no data would help a run that cannot reapply.
    if (!canTransition(record.state, 'reapply')) throw refused();
    if (raw === undefined && !(await store.getRaw(uuid))) {
      throw new BadRequest(
        `No unprocessed data is stored for node ${uuid}; post the data to reapply`,
      );
    }
    const startedAt = String(Date.now());
    const moved = await store.transition(uuid, record.gen, 'reapply', {
      raw,
      fields: { started_at: startedAt },
      record,
    });
    if (!moved.ok) throw refused();
    const job = { node: uuid, gen: record.gen, reqId: ctx.state.reqId };
    // A run may be reapplied many times: each reapply is its own job.
    await enqueueForRun(deps, job, 'reapply', () =>
      queues.add('reapply', job, { jobId: `reapply-${uuid}-${record.gen}-${startedAt}` }),
    );
    ctx.status = 202;
    ctx.body = {};
  });

  for (const [suffix, processed] of [
    ['data', true],
    ['data/unprocessed', false],
  ] as const) {
    router.get(`/v1/introspection/:node/${suffix}`, async (ctx) => {
      const uuid = await resolveUuid(ironic, ctx.params.node!);
      const json = processed ? await store.getProcessed(uuid) : await store.getRaw(uuid);
      if (!json) {
        throw new NotFound(
          `Introspection data not found for node ${uuid}, processed=${processed ? 'True' : 'False'}`,
        );
      }
      ctx.type = 'application/json';
      ctx.body = json;
    });
  }
}
