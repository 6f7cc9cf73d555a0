/**
 * BMC driver on top of Debian's `ipmitool -I lanplus`: power on/off/cycle/reboot with read-back
 * confirmation, one-time boot device, credential checks.
 *
 * - The password never reaches a command line: `-E` and the child's IPMI_PASSWORD.
 * - One command at a time per BMC (address:port) and a minimum interval between commands.
 * - Every ipmitool child is killed after `callTimeoutMs`.
 * - Transient failures (no answer, busy, timeout) are retried with exponential backoff and jitter;
 *   refused credentials, missing privilege and plain command failures are not.
 */
import { bmcKey, describeUser, type BmcCredentials } from './bmc-credentials.ts';
import {
  BmcError,
  classifyIpmitoolFailure,
  summariseStderr,
  type BmcErrorKind,
  type FailureClass,
  type IpmitoolOutcome,
} from './bmc-error.ts';
import { BmcCallQueue, defaultBmcCallQueue } from './bmc-queue.ts';
import {
  buildIpmitoolArgs,
  COMMANDS,
  ipmitoolEnv,
  operationName,
  parseBootDevice,
  parsePowerState,
  type BootDevice,
  type PowerState,
} from './ipmitool-commands.ts';
import { spawnIpmitool, type IpmitoolRunner } from './run-ipmitool.ts';
import { backoffDelay, sleep } from '../retry.ts';

/** Called after every ipmitool child, e.g. to feed a latency histogram. */
export type BmcCallObserver = (
  operation: string,
  ok: boolean,
  seconds: number,
  kind?: BmcErrorKind,
) => void;

/** The part of a pino logger the driver uses. It never logs the password. */
export interface BmcLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface IpmitoolDriverOptions {
  /** Default `ipmitool` (looked up in searchPath). */
  ipmitoolPath?: string;
  /** The PATH of ipmitool children, where ipmitool is found. Default the system's directories. */
  searchPath?: string;
  /** Pause between the end of one command and the start of the next to one BMC. Default 100. */
  minIntervalMs?: number;
  /** Kill an ipmitool child after this long. Default 10000. */
  callTimeoutMs?: number;
  /** Attempts per command, the first included, for retryable failures. Default 3. */
  attempts?: number;
  /** Backoff before the 2nd attempt; doubles each time, then ±50 % jitter. Default 500. */
  retryBaseDelayMs?: number;
  /** Backoff cap. Default 5000. */
  retryMaxDelayMs?: number;
  /** ipmitool `-N` (seconds per LAN message). Default 1. */
  messageTimeoutS?: number;
  /** ipmitool `-R` (tries per LAN message). Default 1: the driver retries, not ipmitool. */
  messageRetries?: number;
  /** `-C` for credentials without a cipher suite. Default none (ipmitool probes, can be slow). */
  defaultCipherSuite?: number;
  /** How long a power action may take to read back. Default 30000. */
  powerConfirmTimeoutMs?: number;
  /** Pause between power state polls (on top of minIntervalMs). Default 200. */
  pollIntervalMs?: number;
  /**
   * After `power cycle`, "on" counts as confirmed once "off" has been read, or after this long
   * (a BMC may cycle faster than the polls). Default 5000.
   */
  cycleAcceptOnAfterMs?: number;
  onCall?: BmcCallObserver;
  logger?: BmcLogger;
  /** Default: one queue shared by every driver in the process. */
  queue?: BmcCallQueue;
  /** Default: spawnIpmitool. Tests pass a fake. */
  runner?: IpmitoolRunner;
  /** Default Math.random (jitter). */
  random?: () => number;
}

export const IPMITOOL_DEFAULTS = {
  ipmitoolPath: 'ipmitool',
  searchPath: '/usr/sbin:/usr/bin:/sbin:/bin',
  minIntervalMs: 100,
  callTimeoutMs: 10_000,
  attempts: 3,
  retryBaseDelayMs: 500,
  retryMaxDelayMs: 5_000,
  messageTimeoutS: 1,
  messageRetries: 1,
  powerConfirmTimeoutMs: 30_000,
  pollIntervalMs: 200,
  cycleAcceptOnAfterMs: 5_000,
} as const;

export interface PowerActionResult {
  /** What was sent: `on`, `off`, `soft` (soft off) or `cycle`. */
  action: 'on' | 'off' | 'soft' | 'cycle';
  /** The state read back. */
  state: PowerState;
  /** From sending the command to the confirming read. */
  seconds: number;
  /** Status reads it took. */
  polls: number;
}

/** What workers need from a BMC; IpmitoolDriver implements it, tests can fake it. */
export interface BmcDriver {
  powerStatus(creds: BmcCredentials): Promise<PowerState>;
  powerOn(creds: BmcCredentials): Promise<PowerActionResult>;
  powerOff(creds: BmcCredentials, opts?: { soft?: boolean }): Promise<PowerActionResult>;
  powerCycle(creds: BmcCredentials): Promise<PowerActionResult>;
  /** On if off, cycle if on. */
  reboot(creds: BmcCredentials): Promise<PowerActionResult>;
  /** One-time boot device (next boot only); read back unless `verify: false`. */
  setBootDevice(
    creds: BmcCredentials,
    device?: BootDevice,
    opts?: { verify?: boolean },
  ): Promise<void>;
  /** From `chassis bootparam get 5`; null if the BMC reports something unknown. */
  getBootDevice(creds: BmcCredentials): Promise<BootDevice | null>;
  /** True if the BMC accepts the credentials, false if it refuses them; other failures throw. */
  checkCredentials(creds: BmcCredentials): Promise<boolean>;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

interface CallOptions {
  /** False for `power cycle`: retried only if the BMC surely did not get it. */
  idempotent?: boolean;
  /** Exit 0 with a stderr summary matching this is a failure (ipmitool bootdev does that). */
  failOnStderr?: RegExp;
}

type ResolvedOptions = Required<
  Omit<IpmitoolDriverOptions, 'defaultCipherSuite' | 'onCall' | 'logger'>
> &
  Pick<IpmitoolDriverOptions, 'defaultCipherSuite' | 'onCall' | 'logger'>;

export class IpmitoolDriver implements BmcDriver {
  readonly options: Readonly<ResolvedOptions>;

  constructor(options: IpmitoolDriverOptions = {}) {
    const defined = Object.fromEntries(
      Object.entries(options).filter(([, v]) => v !== undefined),
    ) as IpmitoolDriverOptions;
    this.options = {
      ...IPMITOOL_DEFAULTS,
      queue: defaultBmcCallQueue,
      runner: spawnIpmitool,
      random: Math.random,
      ...defined,
    };
    if (this.options.attempts < 1) throw new RangeError('attempts must be at least 1');
  }

  async powerStatus(creds: BmcCredentials): Promise<PowerState> {
    const op = operationName(COMMANDS.powerStatus);
    const stdout = await this.call(creds, COMMANDS.powerStatus);
    const state = parsePowerState(stdout);
    if (state === null) throw this.badOutput(creds, op);
    return state;
  }

  powerOn(creds: BmcCredentials): Promise<PowerActionResult> {
    return this.powerAction(creds, 'on', COMMANDS.powerOn, 'on');
  }

  powerOff(creds: BmcCredentials, opts: { soft?: boolean } = {}): Promise<PowerActionResult> {
    return opts.soft
      ? this.powerAction(creds, 'soft', COMMANDS.powerSoft, 'off')
      : this.powerAction(creds, 'off', COMMANDS.powerOff, 'off');
  }

  powerCycle(creds: BmcCredentials): Promise<PowerActionResult> {
    return this.powerAction(creds, 'cycle', COMMANDS.powerCycle, 'on');
  }

  async reboot(creds: BmcCredentials): Promise<PowerActionResult> {
    return (await this.powerStatus(creds)) === 'off' ? this.powerOn(creds) : this.powerCycle(creds);
  }

  async setBootDevice(
    creds: BmcCredentials,
    device: BootDevice = 'pxe',
    opts: { verify?: boolean } = {},
  ): Promise<void> {
    await this.call(creds, COMMANDS.bootdev(device), { failOnStderr: /fail|error/i });
    if (opts.verify === false) return;
    const got = await this.getBootDevice(creds);
    if (got !== device) {
      throw new BmcError(
        'command',
        `BMC ${bmcKey(creds)}: boot device reads ${got ?? 'unknown'} after setting ${device} (${describeUser(creds.username)})`,
        {
          retryable: true,
          reason: 'unconfirmed',
          bmc: bmcKey(creds),
          username: creds.username,
          operation: operationName(COMMANDS.bootdev(device)),
        },
      );
    }
  }

  async getBootDevice(creds: BmcCredentials): Promise<BootDevice | null> {
    const stdout = await this.call(creds, COMMANDS.bootparamGet5);
    if (!/Boot Device Selector/i.test(stdout)) {
      throw this.badOutput(creds, operationName(COMMANDS.bootparamGet5));
    }
    return parseBootDevice(stdout);
  }

  async checkCredentials(creds: BmcCredentials): Promise<boolean> {
    try {
      await this.powerStatus(creds);
      return true;
    } catch (err) {
      if (err instanceof BmcError && err.kind === 'auth') return false;
      throw err;
    }
  }

  /** Sends a power command, then polls the status until it reads `want`. */
  private async powerAction(
    creds: BmcCredentials,
    action: PowerActionResult['action'],
    command: readonly string[],
    want: PowerState,
  ): Promise<PowerActionResult> {
    const o = this.options;
    const started = performance.now();
    await this.call(creds, command, { idempotent: action !== 'cycle' });
    const deadline = started + o.powerConfirmTimeoutMs;
    let sawOff = false;
    for (let polls = 1; ; polls++) {
      const state = await this.powerStatus(creds);
      const elapsed = performance.now() - started;
      if (state === 'off') sawOff = true;
      if (state === want && (action !== 'cycle' || sawOff || elapsed >= o.cycleAcceptOnAfterMs)) {
        return { action, state, seconds: elapsed / 1000, polls };
      }
      if (performance.now() + o.pollIntervalMs > deadline) {
        const op = operationName(command);
        throw new BmcError(
          'timeout',
          `BMC ${bmcKey(creds)}: ${op} not confirmed within ${seconds(o.powerConfirmTimeoutMs)} (power is ${state}, ${describeUser(creds.username)})`,
          {
            retryable: true,
            reason: 'unconfirmed',
            bmc: bmcKey(creds),
            username: creds.username,
            operation: op,
          },
        );
      }
      await sleep(o.pollIntervalMs);
    }
  }

  /** Runs one ipmitool command with serialisation, timeout and retries; returns its stdout. */
  private async call(
    creds: BmcCredentials,
    command: readonly string[],
    opts: CallOptions = {},
  ): Promise<string> {
    const o = this.options;
    const op = operationName(command);
    const bmc = bmcKey(creds);
    const args = buildIpmitoolArgs(creds, command, {
      messageTimeoutS: o.messageTimeoutS,
      messageRetries: o.messageRetries,
      defaultCipherSuite: o.defaultCipherSuite,
    });
    const env = ipmitoolEnv(creds.password, o.searchPath);
    const logCtx = { bmc, user: creds.username, operation: op };

    for (let attempt = 1; ; attempt++) {
      const outcome = await o.queue.run(bmc, o.minIntervalMs, () =>
        o.runner(o.ipmitoolPath, args, { env, timeoutMs: o.callTimeoutMs }),
      );
      const failure = this.failureOf(outcome, opts);
      this.observe(op, failure === null, outcome.elapsedMs / 1000, failure?.kind);
      if (failure === null) {
        o.logger?.debug({ ...logCtx, ms: Math.round(outcome.elapsedMs) }, 'BMC call');
        return outcome.stdout;
      }
      const retry =
        failure.retryable &&
        attempt < o.attempts &&
        (opts.idempotent !== false || !failure.maybeSent);
      if (!retry) throw this.callError(creds, op, failure, outcome, attempt);
      const delay = backoffDelay(
        { attempts: o.attempts, baseDelayMs: o.retryBaseDelayMs, maxDelayMs: o.retryMaxDelayMs },
        attempt,
        o.random,
      );
      o.logger?.warn(
        { ...logCtx, attempt, kind: failure.kind, reason: failure.reason, delayMs: delay },
        'BMC call failed, retrying',
      );
      await sleep(delay);
    }
  }

  private failureOf(outcome: IpmitoolOutcome, opts: CallOptions): FailureClass | null {
    const ok = outcome.exitCode === 0 && !outcome.timedOut && outcome.spawnErrorCode === undefined;
    if (!ok) return classifyIpmitoolFailure(outcome, this.options.messageTimeoutS * 1000);
    if (opts.failOnStderr && opts.failOnStderr.test(summariseStderr(outcome.stderr, ''))) {
      return { kind: 'command', retryable: false, reason: 'failed', maybeSent: true };
    }
    return null;
  }

  private observe(op: string, ok: boolean, secs: number, kind?: BmcErrorKind): void {
    try {
      this.options.onCall?.(op, ok, secs, kind);
    } catch {
      // A broken metrics callback must not break BMC calls.
    }
  }

  private callError(
    creds: BmcCredentials,
    op: string,
    failure: FailureClass,
    outcome: IpmitoolOutcome,
    attempts: number,
  ): BmcError {
    const bmc = bmcKey(creds);
    const user = describeUser(creds.username);
    const detail = summariseStderr(outcome.stderr, creds.password);
    const tries = plural(attempts, 'attempt');
    let message: string;
    switch (failure.reason) {
      case 'credentials':
        message = `BMC ${bmc} refused the credentials of ${user} (${op})`;
        break;
      case 'privilege':
        message = `BMC ${bmc}: ${user} lacks the privilege for ${op}`;
        break;
      case 'cipher-suite': {
        const suite = creds.cipherSuite ?? this.options.defaultCipherSuite;
        message = `BMC ${bmc} does not accept cipher suite ${suite ?? '(negotiated)'} (${op}, ${user})`;
        break;
      }
      case 'busy':
        message = `BMC ${bmc} is busy (${op}, ${user}, ${tries})${detail ? `: ${detail}` : ''}`;
        break;
      case 'no-answer':
        message = `BMC ${bmc} did not answer (${op}, ${user}, ${tries})`;
        break;
      case 'call-timeout':
        message = `BMC ${bmc}: ${op} timed out after ${seconds(this.options.callTimeoutMs)} (${user}, ${tries})`;
        break;
      case 'spawn':
        message = `Cannot run ${this.options.ipmitoolPath} (${outcome.spawnErrorCode}) for ${op} on BMC ${bmc}`;
        break;
      default:
        message = `BMC ${bmc}: ${op} failed for ${user}: ${detail || `exit code ${outcome.exitCode}`}`;
    }
    return new BmcError(failure.kind, message, {
      retryable: failure.retryable,
      reason: failure.reason,
      bmc,
      username: creds.username,
      operation: op,
      detail,
      attempts,
    });
  }

  private badOutput(creds: BmcCredentials, op: string): BmcError {
    return new BmcError(
      'command',
      `BMC ${bmcKey(creds)}: unexpected output of ${op} (${describeUser(creds.username)})`,
      {
        retryable: false,
        reason: 'bad-output',
        bmc: bmcKey(creds),
        username: creds.username,
        operation: op,
      },
    );
  }
}
