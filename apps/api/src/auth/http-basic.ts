import { createHmac, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { Unauthorized, type Logger } from '@inspector/shared';
import type { Authenticator } from './authenticator.ts';
import { HtpasswdFile } from './htpasswd.ts';
import { TtlLru } from './ttl-lru.ts';

/** How long a checked user/password pair is trusted without bcrypt again (same hash only). */
const VERIFIED_TTL_MS = 10 * 60_000;
const VERIFIED_MAX = 1_000;

/** `Authorization: Basic base64(user:password)`, or null when absent or malformed. */
export function parseBasic(header: string): { user: string; password: string } | null {
  const match = /^basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * HTTP Basic against an htpasswd file of bcrypt hashes. bcrypt is slow on purpose (tens of
 * milliseconds per check), so a pair that matched is remembered, keyed by an HMAC under a
 * per-process secret over user, password and hash: changing a user's hash or removing the user
 * takes effect at once; a wrong password is checked with bcrypt every time.
 */
export function httpBasicAuthenticator(path: string, logger: Logger): Authenticator {
  const file = new HtpasswdFile(path, logger);
  const secret = randomBytes(32);
  const verified = new TtlLru<true>(VERIFIED_MAX);
  const invalid = () => new Unauthorized('Invalid username or password');

  return {
    challenge: 'Basic realm="ironic-inspector"',
    async identify(ctx) {
      const header = ctx.get('Authorization');
      if (!header) throw new Unauthorized();
      const creds = parseBasic(header);
      if (!creds) throw invalid();
      const hash = (await file.users()).get(creds.user);
      if (!hash) throw invalid();
      const key = createHmac('sha256', secret)
        .update(`${creds.user}\0${creds.password}\0${hash}`)
        .digest('base64url');
      if (!verified.get(key)) {
        if (!(await bcrypt.compare(creds.password, hash))) throw invalid();
        verified.set(key, true, Date.now() + VERIFIED_TTL_MS);
      }
      return {
        strategy: 'http_basic',
        user: creds.user,
        userId: creds.user,
        project: null,
        projectId: null,
        roles: [],
        isAdmin: true,
      };
    },
  };
}
