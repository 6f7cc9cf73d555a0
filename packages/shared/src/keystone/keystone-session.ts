import { z } from 'zod';
import { ConfigError, type Config } from '../config.ts';
import { coerceError } from '../errors.ts';
import type { Logger } from '../logger.ts';

export interface KeystoneSessionOptions {
  /** Keystone's endpoint, with or without a trailing /v3. */
  url: string;
  username: string;
  password: string;
  project: string;
  userDomain: string;
  projectDomain: string;
  timeoutMs: number;
  /** The error a caller gets when Keystone cannot be used; `reason` completes "Keystone at <url> ...". */
  unavailable: (reason: string, cause?: unknown) => Error;
  logger?: Logger;
}

/** The settings that say where Keystone is and who the service is there. */
export type KeystoneServiceSettings = Pick<
  Config,
  | 'KEYSTONE_URL'
  | 'KEYSTONE_USERNAME'
  | 'KEYSTONE_PASSWORD'
  | 'KEYSTONE_PROJECT'
  | 'KEYSTONE_USER_DOMAIN'
  | 'KEYSTONE_PROJECT_DOMAIN'
  | 'KEYSTONE_TIMEOUT_MS'
>;

/** Where Keystone is and who the service is there. */
export type KeystoneCredentials = Omit<KeystoneSessionOptions, 'unavailable' | 'logger'>;

/**
 * The KEYSTONE_* settings as a session's credentials, for the API's token validation and the
 * Ironic client alike; `needs` names the setting that asked for them when one is missing.
 */
export function keystoneCredentials(
  config: KeystoneServiceSettings,
  needs: string,
): KeystoneCredentials {
  const { KEYSTONE_URL, KEYSTONE_USERNAME, KEYSTONE_PASSWORD, KEYSTONE_PROJECT } = config;
  if (!KEYSTONE_URL || !KEYSTONE_USERNAME || !KEYSTONE_PASSWORD || !KEYSTONE_PROJECT) {
    throw new ConfigError(`${needs} needs KEYSTONE_URL and the service credentials`);
  }
  return {
    url: KEYSTONE_URL,
    username: KEYSTONE_USERNAME,
    password: KEYSTONE_PASSWORD,
    project: KEYSTONE_PROJECT,
    userDomain: config.KEYSTONE_USER_DOMAIN,
    projectDomain: config.KEYSTONE_PROJECT_DOMAIN,
    timeoutMs: config.KEYSTONE_TIMEOUT_MS,
  };
}

const timestamp = z
  .string()
  .transform((s) => Date.parse(s))
  .refine((ms) => Number.isFinite(ms), 'expected an ISO 8601 time');

const KeystoneTokenBody = z.object({
  token: z.object({
    expires_at: timestamp,
    issued_at: timestamp.optional(),
    user: z.object({ id: z.string(), name: z.string() }),
    project: z.object({ id: z.string(), name: z.string() }).optional(),
    roles: z.array(z.object({ name: z.string() })).default([]),
  }),
});
export type KeystoneToken = z.infer<typeof KeystoneTokenBody>['token'];

/** The service renews its own token this long before it expires (or at 3/4 of a short life). */
const RENEW_MARGIN_MS = 60_000;

/**
 * After Keystone refuses the service's password, callers get the same refusal for this long
 * without asking again: retries of every caller would otherwise become a stream of failed logins,
 * which Keystone's lockout policy may answer by locking the service user out.
 */
export const REFUSAL_HOLD_MS = 10_000;

/** Errors of a connection closed before any answer, as opposed to refused or timed out. */
const CONNECTION_DROPPED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

interface ServiceToken {
  token: string;
  renewAt: number;
}

export interface KeystoneAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * The service's own Keystone v3 session: a project-scoped token obtained with
 * a password authentication, shared by all concurrent callers, renewed ahead
 * of its expiry or as soon as a caller reports it refused. Every call is
 * bounded by the timeout.
 */
export class KeystoneSession {
  /** Keystone's root, without /v3. */
  readonly baseUrl: string;
  #current: ServiceToken | null = null;
  #pending: Promise<ServiceToken> | null = null;
  #refusal: { error: Error; until: number } | null = null;

  constructor(private readonly opts: KeystoneSessionOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, '').replace(/\/v3$/, '');
  }

  /** Whether Keystone has just refused the service's password: waiting, not retrying, helps. */
  get refused(): boolean {
    return this.#refusal !== null && Date.now() < this.#refusal.until;
  }

  /** A token to send as X-Auth-Token. */
  async token(): Promise<string> {
    if (this.#current && Date.now() < this.#current.renewAt) return this.#current.token;
    if (this.#refusal && this.refused) throw this.#refusal.error;
    this.#pending ??= this.#authenticate().finally(() => {
      this.#pending = null;
    });
    return (await this.#pending).token;
  }

  /** A token a service refused (revoked, expired early): the next `token()` gets a new one. */
  invalidate(token: string): void {
    if (this.#current?.token === token) this.#current = null;
  }

  /** Parses a token body, or throws the session's unavailable error naming what is wrong. */
  parseToken(text: string): KeystoneToken {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.unavailable('answered a token request with something that is not JSON');
    }
    const parsed = KeystoneTokenBody.safeParse(json);
    if (!parsed.success) {
      throw this.unavailable(
        `answered an unexpected token body (${parsed.error.issues[0]?.message})`,
      );
    }
    return parsed.data.token;
  }

  unavailable(reason: string, cause?: unknown): Error {
    return this.opts.unavailable(`Keystone at ${this.baseUrl} ${reason}`, cause);
  }

  async #authenticate(): Promise<ServiceToken> {
    const { username, password, project, userDomain, projectDomain } = this.opts;
    const answer = await this.request(
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
      const error = this.unavailable(
        'refused the service credentials (KEYSTONE_USERNAME, KEYSTONE_PASSWORD, KEYSTONE_PROJECT)',
      );
      this.#refusal = { error, until: Date.now() + REFUSAL_HOLD_MS };
      throw error;
    }
    const token = answer.headers.get('x-subject-token');
    if (answer.status !== 201 || !token) {
      throw this.unavailable(`answered HTTP ${answer.status} to the service's authentication`);
    }
    const body = this.parseToken(answer.text);
    const now = Date.now();
    // Keystone's issued_at and expires_at share its clock, so the lifetime holds whatever ours says.
    const lifetime = body.expires_at - (body.issued_at ?? now);
    const renewAt = now + lifetime - Math.min(RENEW_MARGIN_MS, lifetime / 4);
    this.opts.logger?.debug(
      { user: username, project },
      'obtained the service token from Keystone',
    );
    this.#current = { token, renewAt };
    this.#refusal = null;
    return this.#current;
  }

  /** One exchange with Keystone within the timeout, body included. */
  async request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<KeystoneAnswer> {
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
}
