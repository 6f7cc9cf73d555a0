import type { Middleware } from 'koa';
import { ConfigError, Forbidden, Unauthorized, type Config, type Logger } from '@inspector/shared';
import { accessFor, type AuthIdentity, type AuthStrategy } from './access.ts';
import type { Authenticator } from './authenticator.ts';
import { httpBasicAuthenticator } from './http-basic.ts';
import { keystoneAuthenticator } from './keystone.ts';

export interface Auth {
  strategy: AuthStrategy;
  /** Goes after API-version negotiation and before every router or other handler. */
  middleware: Middleware;
}

const noauth: Authenticator = {
  challenge: null,
  identify: async () => ({
    strategy: 'noauth',
    user: null,
    userId: null,
    project: null,
    projectId: null,
    roles: [],
    isAdmin: true,
  }),
};

/**
 * The one gate in front of everything but PUBLIC_ROUTES: 401 without valid credentials, 403
 * (`Access denied by policy`) without full rights except on AUTHENTICATED_PREFIXES. It guards by
 * path, not by route, so handlers mounted outside the router are covered as well.
 */
export function guard(authenticator: Authenticator): Middleware {
  return async (ctx, next) => {
    const access = accessFor(ctx.method, ctx.path);
    if (access === 'public') return next();
    try {
      ctx.state.auth = await authenticator.identify(ctx);
    } catch (err) {
      if (err instanceof Unauthorized && authenticator.challenge) {
        ctx.set('WWW-Authenticate', authenticator.challenge);
      }
      throw err;
    }
    if (access === 'role' && !(ctx.state.auth as AuthIdentity).isAdmin) {
      throw new Forbidden('Access denied by policy');
    }
    return next();
  };
}

/** Picks the strategy once, at start-up; a missing setting or unreadable file stops it. */
export function createAuth(config: Config, logger: Logger): Auth {
  const strategy = config.AUTH_STRATEGY;
  const log = logger.child({ auth: strategy });
  let authenticator: Authenticator;
  switch (strategy) {
    case 'keystone':
      authenticator = keystoneAuthenticator(config, log);
      break;
    case 'http_basic':
      if (!config.HTPASSWD_FILE)
        throw new ConfigError('AUTH_STRATEGY=http_basic needs HTPASSWD_FILE');
      authenticator = httpBasicAuthenticator(config.HTPASSWD_FILE, log);
      break;
    case 'noauth':
      log.warn('AUTH_STRATEGY=noauth: anyone who can reach the API can use it');
      authenticator = noauth;
      break;
  }
  return { strategy, middleware: guard(authenticator) };
}
