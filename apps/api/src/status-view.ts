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

/** Path segments only: a header is the caller's words, and ends up inside links. */
const PATH_PREFIX = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;

/**
 * The path a proxy mounts this API under (`X-Forwarded-Prefix: /baremetal-introspection`), as
 * upstream's proxy middleware reads it into SCRIPT_NAME; '' when absent or not a plain path.
 */
export function forwardedPrefix(header: string): string {
  // Any real mount path is short; the header is public input, read on every link.
  if (header.length > 1024) return '';
  let prefix = header.split(',')[0]!.trim();
  while (prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  return PATH_PREFIX.test(prefix) ? prefix : '';
}

/**
 * This API's own base URL as the caller reached it: scheme, host and path prefix as a trusted
 * proxy names them (Koa 3's ctx.origin is the Origin header, not this).
 */
export function selfUrl(ctx: {
  protocol: string;
  host: string;
  app: { proxy: boolean };
  get(field: string): string;
}): string {
  const prefix = ctx.app.proxy ? forwardedPrefix(ctx.get('X-Forwarded-Prefix')) : '';
  return `${ctx.protocol}://${ctx.host}${prefix}`;
}
