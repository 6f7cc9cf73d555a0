import {
  KeystoneSession,
  ServiceUnavailable,
  type KeystoneCredentials,
  type Logger,
} from '@inspector/shared';

/** What the service keeps of a validated token. */
export interface ValidatedToken {
  userId: string;
  userName: string;
  projectId: string | null;
  projectName: string | null;
  roles: string[];
  /** Epoch milliseconds. */
  expiresAt: number;
}

/**
 * Validates callers' tokens against Keystone v3 with the service's own token
 * (a KeystoneSession). Keystone unreachable, slow, failing or refusing the
 * service is a ServiceUnavailable: the request is refused, never let through.
 */
export class KeystoneClient {
  readonly #session: KeystoneSession;

  constructor(opts: KeystoneCredentials, logger: Logger) {
    this.#session = new KeystoneSession({
      ...opts,
      logger,
      unavailable: (reason, cause) =>
        new ServiceUnavailable(`Cannot check credentials: ${reason}; retry later`, cause),
    });
  }

  /** Keystone's root, without /v3. */
  get baseUrl(): string {
    return this.#session.baseUrl;
  }

  /** The token's identity, or null when Keystone does not recognise it (unknown, expired, revoked). */
  async validate(subjectToken: string): Promise<ValidatedToken | null> {
    const session = this.#session;
    for (let attempt = 1; ; attempt++) {
      const service = await session.token();
      const answer = await session.request('GET', '/v3/auth/tokens?nocatalog', {
        'X-Auth-Token': service,
        'X-Subject-Token': subjectToken,
      });
      if (answer.status === 200) {
        const body = session.parseToken(answer.text);
        return {
          userId: body.user.id,
          userName: body.user.name,
          projectId: body.project?.id ?? null,
          projectName: body.project?.name ?? null,
          roles: body.roles.map((r) => r.name),
          expiresAt: body.expires_at,
        };
      }
      if (answer.status === 404 || answer.status === 400) return null;
      if (answer.status === 401 && attempt === 1) {
        // Revoked or expired early (password change, key rotation): get a new one, once.
        session.invalidate(service);
        continue;
      }
      if (answer.status === 401) {
        throw session.unavailable('does not accept the service token it has just issued');
      }
      if (answer.status === 403) {
        throw session.unavailable(
          'does not let the service user validate tokens (KEYSTONE_USERNAME needs the admin or service role)',
        );
      }
      throw session.unavailable(`answered HTTP ${answer.status} to a token validation`);
    }
  }
}
