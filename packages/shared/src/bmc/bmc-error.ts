/**
 * Typed BMC failures, so a worker can fail a node at once (`retryable: false`, e.g. refused
 * credentials) or try again later (`retryable: true`, e.g. a BMC that did not answer).
 *
 * Messages name the BMC (address:port), the user name and the operation only; they never
 * contain the password, and the `detail` taken from ipmitool's stderr is scrubbed of it.
 */

/**
 * - `config`: the node's driver_info is invalid, or the BMC rejects its cipher suite.
 * - `auth`: the BMC refused the user name / password, or the user lacks the privilege.
 * - `unreachable`: no answer at all (dead BMC, wrong address, network), or a busy BMC.
 * - `timeout`: the ipmitool child was killed after the call timeout, or a power state change was
 *   not confirmed in time.
 * - `command`: the BMC answered but the command failed, or its output made no sense.
 */
export type BmcErrorKind = 'config' | 'auth' | 'unreachable' | 'timeout' | 'command';

/** Finer-grained cause, for logs and metrics labels. */
export type BmcErrorReason =
  | 'invalid-driver-info'
  | 'cipher-suite'
  | 'credentials'
  | 'privilege'
  | 'old-credentials-accepted'
  | 'no-answer'
  | 'busy'
  | 'call-timeout'
  | 'unconfirmed'
  | 'spawn'
  | 'bad-output'
  | 'failed';

export interface BmcErrorOptions {
  retryable: boolean;
  reason: BmcErrorReason;
  /** `address:port`. */
  bmc?: string;
  username?: string;
  /** The ipmitool operation, e.g. `power on`. */
  operation?: string;
  /** ipmitool's stderr, scrubbed of the password and of noise lines. */
  detail?: string;
  /** Attempts made before giving up. */
  attempts?: number;
  cause?: unknown;
}

export class BmcError extends Error {
  readonly kind: BmcErrorKind;
  readonly retryable: boolean;
  readonly reason: BmcErrorReason;
  readonly bmc: string | undefined;
  readonly username: string | undefined;
  readonly operation: string | undefined;
  readonly detail: string | undefined;
  readonly attempts: number | undefined;

  constructor(kind: BmcErrorKind, message: string, opts: BmcErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.retryable = opts.retryable;
    this.reason = opts.reason;
    this.bmc = opts.bmc;
    this.username = opts.username;
    this.operation = opts.operation;
    this.detail = opts.detail;
    this.attempts = opts.attempts;
  }
}

export const isBmcError = (err: unknown): err is BmcError => err instanceof BmcError;

/** Replaces every occurrence of `secret` in `text` (a no-op for an empty secret). */
export function scrubSecret(text: string, secret: string): string {
  return secret === '' ? text : text.split(secret).join('***');
}

/** Lines `ipmitool -v` prints on every call, successful or not. */
const NOISE = [
  /^Loading IANA PEN Registry/,
  /^Running Get VSO Capabilities/,
  /^Invalid completion code received: Invalid command$/,
  /^Discovered IPMB address/,
  /^Get HPM\.x Capabilities request failed/,
  /^Using best available cipher suite/,
];

/** The meaningful lines of ipmitool's stderr, scrubbed, joined with "; " and capped. */
export function summariseStderr(stderr: string, secret: string, maxLength = 400): string {
  const lines = scrubSecret(stderr, secret)
    .split('\n')
    .map((l) => l.replace(/^[>\s]+/, '').trim())
    .filter((l) => l !== '' && !NOISE.some((re) => re.test(l)));
  const text = [...new Set(lines)].join('; ');
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/** What a finished (or killed) ipmitool process looked like. */
export interface IpmitoolOutcome {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Killed by us after the call timeout. */
  timedOut: boolean;
  elapsedMs: number;
  /** `code` of the spawn error (ENOENT, EACCES...), if the child never ran. */
  spawnErrorCode?: string | undefined;
}

export interface FailureClass {
  kind: BmcErrorKind;
  retryable: boolean;
  reason: BmcErrorReason;
  /**
   * Whether the BMC may have run the command. False only when no session was established (or the
   * child never ran), so even a non-idempotent command such as `power cycle` can be sent again.
   */
  maybeSent: boolean;
}

// RMCP+ status texts from ipmitool's lanplus code, plus the lines it prints around them.
const CIPHER =
  /invalid (authentication|integrity|confidentiality) algorithm|no matching (authentication|integrity|confidentiality) payload|no cipher suite match|unsupported cipher suite|invalid cipher suite/i;
const PRIVILEGE =
  /invalid role|unauthorized role or privilege|insufficient privilege|privilege level (is )?not available|requested privilege level/i;
const CREDENTIALS =
  /RAKP \d HMAC is invalid|RAKP \d message has invalid integrity check|unauthorized name|invalid name length|invalid integrity check value|unauthorized GUID|password (is )?invalid|invalid user name/i;
const BUSY =
  /insufficient resources|node busy|BMC (is )?busy|BMC initialization in progress|out of space|temporarily unavailable|inactive session|invalid session ID/i;
const NO_ANSWER =
  /Get Auth Capabilities error|Error issuing Get Channel Authentication Capabilities|No response from remote controller|Unable to establish (IPMI v1\.5|LAN) session|Address lookup for .* failed|Network is unreachable|No route to host|Connection refused|Name or service not known|Unable to send|Error sending|Close Session command failed|IPMI Request Match NOT FOUND|timed? ?out/i;
const NO_SESSION = /Unable to establish IPMI v2 \/ RMCP\+ session/i;

/**
 * Classifies a failed ipmitool call. Pure.
 *
 * "Unable to establish IPMI v2 / RMCP+ session" alone is ambiguous; `ipmitool -v` adds the reason
 * ("RAKP 2 HMAC is invalid" for a wrong password, "unauthorized name" for an unknown user, "Get Auth
 * Capabilities error" for no answer). Without a reason, a failure that came faster than one
 * ipmitool message timeout (`sessionTimeoutMs`) must have been an answer from the BMC, so it is a
 * refusal (auth); a slower one is a BMC that did not answer.
 *
 * Credentials, privilege, cipher-suite and plain command failures are not retryable: trying a
 * wrong password again only risks locking the account out.
 */
export function classifyIpmitoolFailure(
  outcome: IpmitoolOutcome,
  sessionTimeoutMs: number,
): FailureClass {
  const err = outcome.stderr;
  const maybeSent = !NO_SESSION.test(err) && outcome.spawnErrorCode === undefined;
  const is = (kind: BmcErrorKind, retryable: boolean, reason: BmcErrorReason): FailureClass => ({
    kind,
    retryable,
    reason,
    maybeSent,
  });
  if (outcome.timedOut) return is('timeout', true, 'call-timeout');
  if (outcome.spawnErrorCode !== undefined) return is('command', false, 'spawn');
  if (CIPHER.test(err)) return is('config', false, 'cipher-suite');
  if (CREDENTIALS.test(err)) return is('auth', false, 'credentials');
  if (PRIVILEGE.test(err)) return is('auth', false, 'privilege');
  if (BUSY.test(err)) return is('unreachable', true, 'busy');
  if (NO_ANSWER.test(err)) return is('unreachable', true, 'no-answer');
  if (NO_SESSION.test(err)) {
    return outcome.elapsedMs < sessionTimeoutMs
      ? is('auth', false, 'credentials')
      : is('unreachable', true, 'no-answer');
  }
  return is('command', false, 'failed');
}
