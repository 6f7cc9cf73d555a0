import type { Middleware } from 'koa';
import { InspectorError } from '@inspector/shared';

export const MIN_VERSION = [1, 0] as const;
export const MAX_VERSION = [1, 18] as const;
const fmt = (v: readonly [number, number]) => `${v[0]}.${v[1]}`;
const HEADER = 'X-OpenStack-Ironic-Inspector-API-Version';

/** The supported range, as headers every answer carries, even one Koa never sees. */
export const VERSION_RANGE_HEADERS: readonly (readonly [string, string])[] = [
  ['X-OpenStack-Ironic-Inspector-API-Minimum-Version', fmt(MIN_VERSION)],
  ['X-OpenStack-Ironic-Inspector-API-Maximum-Version', fmt(MAX_VERSION)],
];

const cmp = (a: readonly number[], b: readonly number[]) => a[0]! - b[0]! || a[1]! - b[1]!;

/** Whether the version a request negotiated (`ctx.state.apiVersion`) is `min` or later. */
export const versionAtLeast = (version: readonly number[], min: readonly [number, number]) =>
  cmp(version, min) >= 0;

/** Parses a requested version; absent or `latest` is the newest. Pure, for tests. */
export function negotiateVersion(raw: string | undefined): [number, number] {
  const value = raw?.trim();
  if (!value || value.toLowerCase() === 'latest') return [...MAX_VERSION];
  const match = /^(\d{1,4})\.(\d{1,4})$/.exec(value);
  if (!match) {
    throw new InspectorError('Malformed API version: expected string in form of X.Y or latest', {
      status: 400,
    });
  }
  const version: [number, number] = [Number(match[1]), Number(match[2])];
  if (cmp(version, MIN_VERSION) < 0 || cmp(version, MAX_VERSION) > 0) {
    throw new InspectorError(
      `Unsupported API version ${value}, supported range is ${fmt(MIN_VERSION)} to ${fmt(MAX_VERSION)}`,
      { status: 406, code: 'not_acceptable' },
    );
  }
  return version;
}

/**
 * Runs before routing and auth, so every answer, errors included, carries the
 * supported range. Also reads the standard `OpenStack-API-Version:
 * baremetal-introspection X.Y` header.
 */
export function apiVersion(): Middleware {
  return async (ctx, next) => {
    for (const [name, value] of VERSION_RANGE_HEADERS) ctx.set(name, value);
    const standard = /^\s*baremetal-introspection\s+(\S+)\s*$/i.exec(
      ctx.get('OpenStack-API-Version'),
    );
    const version = negotiateVersion(ctx.get(HEADER) || standard?.[1]);
    ctx.state.apiVersion = version;
    ctx.set(HEADER, fmt(version));
    await next();
  };
}
