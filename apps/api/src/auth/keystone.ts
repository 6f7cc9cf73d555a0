import { createHash } from 'node:crypto';
import {
  Unauthorized,
  keystoneCredentials,
  type Config,
  type KeystoneServiceSettings,
  type Logger,
} from '@inspector/shared';
import type { AuthIdentity } from './access.ts';
import type { Authenticator } from './authenticator.ts';
import { KeystoneClient, type ValidatedToken } from './keystone-client.ts';
import { TtlLru } from './ttl-lru.ts';

/** Keystone tokens are printable ASCII (Fernet: base64url); anything else cannot be one. */
const TOKEN_SHAPE = /^[\x21-\x7e]{1,8192}$/;

/** The service's own Keystone identity, and how callers' tokens are judged and remembered. */
export type KeystoneSettings = KeystoneServiceSettings &
  Pick<
    Config,
    | 'KEYSTONE_ALLOWED_ROLES'
    | 'KEYSTONE_TOKEN_CACHE_SIZE'
    | 'KEYSTONE_TOKEN_CACHE_TTL_S'
    | 'KEYSTONE_NEGATIVE_CACHE_TTL_S'
  >;

/**
 * `X-Auth-Token` checked with Keystone. Valid tokens are remembered until they expire, at most
 * KEYSTONE_TOKEN_CACHE_TTL_S (so a revocation or role change takes effect within that), in a
 * bounded LRU keyed by the token's SHA-256; refused tokens for KEYSTONE_NEGATIVE_CACHE_TTL_S.
 * Concurrent requests with the same token share one validation.
 */
export function keystoneAuthenticator(settings: KeystoneSettings, logger: Logger): Authenticator {
  const credentials = keystoneCredentials(settings, 'AUTH_STRATEGY=keystone');
  const client = new KeystoneClient(credentials, logger);
  const allowed = new Set(settings.KEYSTONE_ALLOWED_ROLES.map((r) => r.toLowerCase()));
  const validTtlMs = settings.KEYSTONE_TOKEN_CACHE_TTL_S * 1000;
  const refusedTtlMs = settings.KEYSTONE_NEGATIVE_CACHE_TTL_S * 1000;
  const valid = new TtlLru<AuthIdentity>(settings.KEYSTONE_TOKEN_CACHE_SIZE);
  // Kept apart so a flood of bogus tokens cannot push valid ones out.
  const refused = new TtlLru<true>(settings.KEYSTONE_TOKEN_CACHE_SIZE);
  const inFlight = new Map<string, Promise<AuthIdentity | null>>();

  const toIdentity = (t: ValidatedToken): AuthIdentity => ({
    strategy: 'keystone',
    user: t.userName,
    userId: t.userId,
    project: t.projectName,
    projectId: t.projectId,
    roles: t.roles,
    isAdmin: t.roles.some((r) => allowed.has(r.toLowerCase())),
  });

  const lookUp = async (token: string, key: string): Promise<AuthIdentity | null> => {
    const validated = await client.validate(token);
    const now = Date.now();
    if (!validated) {
      refused.set(key, true, now + refusedTtlMs, now);
      return null;
    }
    const identity = toIdentity(validated);
    valid.set(key, identity, Math.min(validated.expiresAt, now + validTtlMs), now);
    logger.debug(
      { user: identity.user, project: identity.project, roles: identity.roles },
      'Keystone token validated',
    );
    return identity;
  };

  return {
    challenge: `Keystone uri="${credentials.url.replace(/\/+$/, '')}"`,
    async identify(ctx) {
      const token = ctx.get('X-Auth-Token');
      if (!TOKEN_SHAPE.test(token)) throw new Unauthorized();
      const key = createHash('sha256').update(token).digest('base64url');
      const cached = valid.get(key);
      if (cached) return cached;
      if (refused.get(key)) throw new Unauthorized();
      let pending = inFlight.get(key);
      if (!pending) {
        pending = lookUp(token, key).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const identity = await pending;
      if (!identity) throw new Unauthorized();
      return identity;
    },
  };
}
