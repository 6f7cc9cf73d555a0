import type { Context } from 'koa';
import type { AuthIdentity } from './access.ts';

/** One authentication strategy: who the request's credentials name, or Unauthorized. */
export interface Authenticator {
  /** `WWW-Authenticate` value sent with every 401, telling clients how to authenticate. */
  challenge: string | null;
  /** Throws Unauthorized (bad or missing credentials) or ServiceUnavailable (cannot check them). */
  identify(ctx: Context): Promise<AuthIdentity>;
}
