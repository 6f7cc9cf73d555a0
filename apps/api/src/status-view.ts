import type { NodeStatus } from '@inspector/shared';

/** Naive UTC ISO-8601 with microseconds, as upstream clients parse it. */
export function isoTime(ms: number): string {
  // toISOString always ends in `.mmmZ`.
  return `${new Date(ms).toISOString().slice(0, -1)}000`;
}

export function statusView(record: NodeStatus, origin: string) {
  return {
    uuid: record.uuid,
    state: record.state,
    finished: record.finished_at !== null,
    error: record.error,
    started_at: isoTime(record.started_at),
    finished_at: record.finished_at === null ? null : isoTime(record.finished_at),
    links: [{ rel: 'self', href: `${origin}/v1/introspection/${record.uuid}` }],
  };
}

/** This API's own base URL as the caller reached it (Koa 3's ctx.origin is the Origin header). */
export function selfUrl(ctx: { protocol: string; host: string }): string {
  return `${ctx.protocol}://${ctx.host}`;
}
