import { z } from 'zod';
import { ServiceUnavailable, coerceError, type Logger } from '@inspector/shared';

export interface KeystoneClientOptions {
  /** Keystone's endpoint, with or without a trailing /v3. */
  url: string;
  username: string;
  password: string;
  project: string;
  userDomain: string;
  projectDomain: string;
  timeoutMs: number;
}

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

const timestamp = z
  .string()
  .transform((s) => Date.parse(s))
  .refine((ms) => Number.isFinite(ms), 'expected an ISO 8601 time');

const TokenBody = z.object({
  token: z.object({
    expires_at: timestamp,
    issued_at: timestamp.optional(),
    user: z.object({ id: z.string(), name: z.string() }),
    project: z.object({ id: z.string(), name: z.string() }).optional(),
    roles: z.array(z.object({ name: z.string() })).default([]),
  }),
});

/** The service renews its own token this long before it expires (or at 3/4 of a short life). */
const RENEW_MARGIN_MS = 60_000;

/** Errors of a connection closed before any answer, as opposed to refused or timed out. */
const CONNECTION_DROPPED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

interface ServiceToken {
  token: string;
  renewAt: number;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Validates callers' tokens against Keystone v3 with the service's own token, which it obtains
 * with a password authentication and renews before it expires or when Keystone stops accepting
 * it. Every call is bounded by the timeout; Keystone unreachable, slow, failing or refusing the
 * service is a ServiceUnavailable (the request is refused, never let through).
 */
export class KeystoneClient {
  /** Keystone's root, without /v3. */
  readonly baseUrl: string;
  private service: ServiceToken | null = null;
  private pendingService: Promise<ServiceToken> | null = null;

  constructor(
    private readonly opts: KeystoneClientOptions,
    private readonly logger: Logger,
  ) {
    this.baseUrl = opts.url.replace(/\/+$/, '').replace(/\/v3$/, '');
  }

  /** The token's identity, or null when Keystone does not recognise it (unknown, expired, revoked). */
  async validate(subjectToken: string): Promise<ValidatedToken | null> {
    for (let attempt = 1; ; attempt++) {
      const service = await this.serviceToken();
      const answer = await this.call('GET', '/v3/auth/tokens?nocatalog', {
        'X-Auth-Token': service.token,
        'X-Subject-Token': subjectToken,
      });
      if (answer.status === 200) return this.parseToken(answer.text);
      if (answer.status === 404 || answer.status === 400) return null;
      if (answer.status === 401 && attempt === 1) {
        // Revoked or expired early (password change, key rotation): get a new one, once.
        this.logger.info('Keystone refused the service token; authenticating again');
        if (this.service === service) this.service = null;
        continue;
      }
      if (answer.status === 401) {
        throw this.unavailable('does not accept the service token it has just issued');
      }
      if (answer.status === 403) {
        throw this.unavailable(
          'does not let the service user validate tokens (KEYSTONE_USERNAME needs the admin or service role)',
        );
      }
      throw this.unavailable(`answered HTTP ${answer.status} to a token validation`);
    }
  }

  private parseToken(text: string): ValidatedToken {
    const body = this.parseBody(text);
    return {
      userId: body.user.id,
      userName: body.user.name,
      projectId: body.project?.id ?? null,
      projectName: body.project?.name ?? null,
      roles: body.roles.map((r) => r.name),
      expiresAt: body.expires_at,
    };
  }

  private parseBody(text: string): z.infer<typeof TokenBody>['token'] {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.unavailable('answered a token request with something that is not JSON');
    }
    const parsed = TokenBody.safeParse(json);
    if (!parsed.success) {
      throw this.unavailable(
        `answered an unexpected token body (${parsed.error.issues[0]?.message})`,
      );
    }
    return parsed.data.token;
  }

  /** The service's token, obtained once for all concurrent callers and renewed ahead of expiry. */
  private async serviceToken(): Promise<ServiceToken> {
    if (this.service && Date.now() < this.service.renewAt) return this.service;
    this.pendingService ??= this.authenticate().finally(() => {
      this.pendingService = null;
    });
    return this.pendingService;
  }

  private async authenticate(): Promise<ServiceToken> {
    const { username, password, project, userDomain, projectDomain } = this.opts;
    const answer = await this.call(
      'POST',
      '/v3/auth/tokens?nocatalog',
      { 'Content-Type': 'application/json' },
      JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: username, domain: { name: userDomain }, password } },
          },
          scope: { project: { name: project, domain: { name: projectDomain } } },
        },
      }),
    );
    if (answer.status === 401) {
      throw this.unavailable(
        'refused the service credentials (KEYSTONE_USERNAME, KEYSTONE_PASSWORD, KEYSTONE_PROJECT)',
      );
    }
    const token = answer.headers.get('x-subject-token');
    if (answer.status !== 201 || !token) {
      throw this.unavailable(`answered HTTP ${answer.status} to the service's authentication`);
    }
    const body = this.parseBody(answer.text);
    const now = Date.now();
    // Keystone's issued_at and expires_at share its clock, so the lifetime holds whatever ours says.
    const lifetime = body.expires_at - (body.issued_at ?? now);
    const renewAt = now + lifetime - Math.min(RENEW_MARGIN_MS, lifetime / 4);
    this.logger.debug({ user: username, project }, 'obtained the service token from Keystone');
    this.service = { token, renewAt };
    return this.service;
  }

  private async call(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Answer> {
    const ms = this.opts.timeoutMs;
    const deadline = Date.now() + ms;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: { Accept: 'application/json', ...headers },
          body,
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
        });
        // Read within the same deadline, so a body that trickles in cannot hold a request either.
        return { status: res.status, headers: res.headers, text: await res.text() };
      } catch (thrown) {
        const err = coerceError(thrown);
        if (err.name === 'TimeoutError' || err.name === 'AbortError') {
          throw this.unavailable(`did not answer within ${ms} ms`, err);
        }
        const code = (err.cause as { code?: unknown } | undefined)?.code;
        // The connection dropped, most often a pooled keep-alive one Keystone closed as it was
        // reused. Asking once more on a new connection is safe: the calls here are idempotent
        // or, for a password authentication, harmless to repeat.
        if (attempt === 1 && typeof code === 'string' && CONNECTION_DROPPED.has(code)) continue;
        throw this.unavailable(
          `cannot be reached (${typeof code === 'string' ? code : err.message})`,
          err,
        );
      }
    }
  }

  private unavailable(reason: string, cause?: unknown): ServiceUnavailable {
    return new ServiceUnavailable(
      `Cannot check credentials: Keystone at ${this.baseUrl} ${reason}; retry later`,
      cause,
    );
  }
}
