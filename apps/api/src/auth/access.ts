import type { Context } from 'koa';

export type AuthStrategy = 'keystone' | 'http_basic' | 'noauth';

/** Who is calling, as authentication established it; `ctx.state.auth` on every non-public request. */
export interface AuthIdentity {
  strategy: AuthStrategy;
  /** User name; null under noauth. */
  user: string | null;
  userId: string | null;
  /** Project the Keystone token is scoped to; null for other strategies and unscoped tokens. */
  project: string | null;
  projectId: string | null;
  /** Keystone role names, implied ones included; empty for other strategies. */
  roles: string[];
  /**
   * Full rights: the API's protected routes and changes on the queue dashboard. Keystone callers
   * holding one of KEYSTONE_ALLOWED_ROLES; every http_basic user and everyone under noauth.
   */
  isAdmin: boolean;
}

/**
 * The only requests that need no credentials: discovery, the ramdisk's callback (a ramdisk has
 * no token) and the probes. Everything else, router or not, needs them, so a route added
 * anywhere is protected unless it is listed here. Entries are `METHOD /path` with the path
 * lower-cased and without a trailing slash, matched the way the router matches (case-insensitive,
 * trailing slash optional); HEAD counts as GET.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /',
  'GET /v1',
  'POST /v1/continue',
  'GET /healthz',
  'GET /readyz',
  // Scraped by Prometheus and read by client generators; neither carries node data.
  'GET /metrics',
  'GET /v1/openapi.json',
]);

/**
 * Paths open to any authenticated caller, with or without an allowed role; the handler decides
 * what each may do there with `isAdmin(ctx)` (the queue dashboard is read-only for the others).
 */
export const AUTHENTICATED_PREFIXES: readonly string[] = ['/dashboard'];

/** `public`: no credentials; `authenticated`: any valid identity; `role`: an identity with full rights. */
export type Access = 'public' | 'authenticated' | 'role';

export function accessFor(method: string, path: string): Access {
  const verb = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const lower = path.toLowerCase();
  const normalised = lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
  if (PUBLIC_ROUTES.has(`${verb} ${normalised}`)) return 'public';
  if (AUTHENTICATED_PREFIXES.some((p) => normalised === p || normalised.startsWith(`${p}/`))) {
    return 'authenticated';
  }
  return 'role';
}

/** Whether the caller has full rights; false for an unauthenticated (public) request. */
export function isAdmin(ctx: Pick<Context, 'state'>): boolean {
  return (ctx.state.auth as AuthIdentity | undefined)?.isAdmin === true;
}
