import { describe, expect, it } from 'vitest';
import type { BmcCredentials } from './bmc-credentials.ts';
import { BmcError, type IpmitoolOutcome } from './bmc-error.ts';
import { BmcCallQueue } from './bmc-queue.ts';
import { IpmitoolDriver, type IpmitoolDriverOptions } from './ipmitool.ts';
import type { IpmitoolRunner } from './run-ipmitool.ts';
import { bmcFailure } from '../../../../test/helpers/ipmi.ts';

const PASSWORD = 'Fake-Pa55word';
const creds: BmcCredentials = {
  address: '10.0.0.7',
  port: 623,
  username: 'admin',
  password: PASSWORD,
  cipherSuite: 3,
  privilegeLevel: undefined,
};

const NO_SESSION = 'Error: Unable to establish IPMI v2 / RMCP+ session\n';
const FAIL = {
  wrongPassword: { exitCode: 1, stderr: `> RAKP 2 HMAC is invalid\n${NO_SESSION}` },
  noAnswer: {
    exitCode: 1,
    stderr: `Get Auth Capabilities error\n${NO_SESSION}`,
    elapsedMs: 2000,
  },
  timeout: { exitCode: null, timedOut: true, elapsedMs: 500 },
} satisfies Record<string, Partial<IpmitoolOutcome>>;

interface Call {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
}

/**
 * A BMC in memory. `fail(command, n)` may return a failure for the n-th call (1-based) of that
 * command. `power cycle` reads off for `cycleMs`, then on, like ipmi_sim.
 */
function fakeBmc(
  opts: {
    power?: 'on' | 'off';
    users?: Record<string, string>;
    cycleMs?: number;
    /** The BMC ignores power commands (a stuck chassis). */
    stuck?: boolean;
    bootparamSelector?: string;
    fail?: (command: string, n: number) => Partial<IpmitoolOutcome> | undefined;
  } = {},
) {
  const users = opts.users ?? { admin: PASSWORD };
  let power = opts.power ?? 'off';
  let onAt: number | null = null;
  let bootdev = 'default';
  const calls: Call[] = [];
  const counts = new Map<string, number>();
  const runner: IpmitoolRunner = async (_file, args, { env }) => {
    const command = args.slice(args.indexOf('-v') + 1).join(' ');
    calls.push({ command, args, env });
    const n = (counts.get(command) ?? 0) + 1;
    counts.set(command, n);
    const result = (r: Partial<IpmitoolOutcome>): IpmitoolOutcome => ({
      exitCode: 0,
      stdout: '',
      stderr: '',
      timedOut: false,
      elapsedMs: 5,
      ...r,
    });
    const scripted = opts.fail?.(command, n);
    if (scripted) return result(scripted);
    const user = args[args.indexOf('-U') + 1] ?? '';
    if (users[user] === undefined || users[user] !== env['IPMI_PASSWORD']) {
      return result(FAIL.wrongPassword);
    }
    if (onAt !== null && performance.now() >= onAt) {
      power = 'on';
      onAt = null;
    }
    switch (command) {
      case 'chassis power status':
        return result({ stdout: `Chassis Power is ${power}\n` });
      case 'chassis power on':
        if (!opts.stuck) power = 'on';
        return result({ stdout: 'Chassis Power Control: Up/On\n' });
      case 'chassis power off':
      case 'chassis power soft':
        if (!opts.stuck) power = 'off';
        return result({ stdout: 'Chassis Power Control: Down/Off\n' });
      case 'chassis power cycle':
        if (!opts.stuck) {
          power = 'off';
          onAt = performance.now() + (opts.cycleMs ?? 100);
        }
        return result({ stdout: 'Chassis Power Control: Cycle\n' });
      case 'chassis bootparam get 5':
        return result({
          stdout: `Boot parameter version: 1\n - Boot Device Selector : ${
            opts.bootparamSelector ?? (bootdev === 'pxe' ? 'Force PXE' : 'No override')
          }\n`,
        });
      default:
        if (command.startsWith('chassis bootdev ')) {
          bootdev = command.split(' ')[2]!;
          return result({ stdout: `Set Boot Device to ${bootdev}\n` });
        }
        return result({ exitCode: 1, stderr: `Invalid command: ${command}\n` });
    }
  };
  return {
    runner,
    calls,
    commands: () => calls.map((c) => c.command.replace(/^chassis /, '')),
    get power() {
      return power;
    },
  };
}

function driver(bmc: ReturnType<typeof fakeBmc>, options: IpmitoolDriverOptions = {}) {
  const observed: [string, boolean, number, string | undefined][] = [];
  const d = new IpmitoolDriver({
    runner: bmc.runner,
    queue: new BmcCallQueue(),
    minIntervalMs: 0,
    pollIntervalMs: 10,
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 40,
    powerConfirmTimeoutMs: 1000,
    random: () => 0.5,
    onCall: (op, ok, s, kind) => observed.push([op, ok, s, kind]),
    ...options,
  });
  return { d, observed };
}

function expectNoPassword(err: BmcError, password = PASSWORD) {
  expect(err.message).not.toContain(password);
  expect(err.detail ?? '').not.toContain(password);
  expect(JSON.stringify(err)).not.toContain(password);
  expect(String(err.stack)).not.toContain(password);
}

describe('IpmitoolDriver power actions', () => {
  it('powers on and confirms by reading the state back', async () => {
    const bmc = fakeBmc();
    const { d, observed } = driver(bmc);
    const r = await d.powerOn(creds);
    expect(r).toMatchObject({ action: 'on', state: 'on', polls: 1 });
    expect(bmc.commands()).toEqual(['power on', 'power status']);
    expect(observed.map(([op, ok]) => [op, ok])).toEqual([
      ['power on', true],
      ['power status', true],
    ]);
  });

  it('passes the password only through the environment', async () => {
    const bmc = fakeBmc();
    await driver(bmc).d.powerOff(creds);
    for (const call of bmc.calls) {
      expect(call.args.join(' ')).not.toContain(PASSWORD);
      expect(call.args).toContain('-E');
      expect(call.args.slice(0, 2)).toEqual(['-I', 'lanplus']);
      expect(call.env['IPMI_PASSWORD']).toBe(PASSWORD);
    }
  });

  it('confirms a power cycle only after reading off and then on', async () => {
    const bmc = fakeBmc({ power: 'on', cycleMs: 120 });
    const r = await driver(bmc).d.powerCycle(creds);
    expect(r.state).toBe('on');
    expect(r.seconds).toBeGreaterThanOrEqual(0.1);
    expect(r.polls).toBeGreaterThan(2);
    expect(bmc.commands()[0]).toBe('power cycle');
  });

  it('accepts "on" after a cycle once cycleAcceptOnAfterMs has passed without seeing off', async () => {
    const bmc = fakeBmc({ power: 'on', stuck: true });
    const r = await driver(bmc, { cycleAcceptOnAfterMs: 80 }).d.powerCycle(creds);
    expect(r.state).toBe('on');
    expect(r.seconds).toBeGreaterThanOrEqual(0.08);
  });

  it('fails with a retryable timeout when the state does not follow', async () => {
    const bmc = fakeBmc({ power: 'off', stuck: true });
    const err = await bmcFailure(driver(bmc, { powerConfirmTimeoutMs: 150 }).d.powerOn(creds));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true, reason: 'unconfirmed' });
    expect(err.message).toBe(
      'BMC 10.0.0.7:623: power on not confirmed within 0.2 s (power is off, user admin)',
    );
  });

  it('reboots: on when off, cycle when on', async () => {
    const off = fakeBmc({ power: 'off' });
    expect((await driver(off).d.reboot(creds)).action).toBe('on');
    expect(off.commands().slice(0, 2)).toEqual(['power status', 'power on']);
    const on = fakeBmc({ power: 'on', cycleMs: 30 });
    expect((await driver(on).d.reboot(creds)).action).toBe('cycle');
    expect(on.commands().slice(0, 2)).toEqual(['power status', 'power cycle']);
  });

  it('soft-powers off', async () => {
    const bmc = fakeBmc({ power: 'on' });
    expect(await driver(bmc).d.powerOff(creds, { soft: true })).toMatchObject({
      action: 'soft',
      state: 'off',
    });
    expect(bmc.commands()).toEqual(['power soft', 'power status']);
  });
});

describe('IpmitoolDriver failures and retries', () => {
  it('does not retry refused credentials and names BMC, user and operation only', async () => {
    const bmc = fakeBmc();
    const { d, observed } = driver(bmc);
    const err = await bmcFailure(d.powerStatus({ ...creds, password: 'Wrong-Pa55' }));
    expect(bmc.calls).toHaveLength(1);
    expect(err).toMatchObject({
      kind: 'auth',
      retryable: false,
      reason: 'credentials',
      bmc: '10.0.0.7:623',
      username: 'admin',
      operation: 'power status',
      attempts: 1,
    });
    expect(err.message).toBe(
      'BMC 10.0.0.7:623 refused the credentials of user admin (power status)',
    );
    expectNoPassword(err, 'Wrong-Pa55');
    expect(observed).toEqual([['power status', false, 0.005, 'auth']]);
  });

  it('retries a BMC that does not answer, with backoff, then gives up', async () => {
    const bmc = fakeBmc({ fail: () => FAIL.noAnswer });
    const t0 = performance.now();
    const err = await bmcFailure(driver(bmc, { attempts: 3 }).d.powerStatus(creds));
    // Backoff with random() = 0.5: 7.5 ms, then 15 ms.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(20);
    expect(bmc.calls).toHaveLength(3);
    expect(err).toMatchObject({ kind: 'unreachable', retryable: true, attempts: 3 });
    expect(err.message).toBe(
      'BMC 10.0.0.7:623 did not answer (power status, user admin, 3 attempts)',
    );
  });

  it('recovers when a retry succeeds', async () => {
    const bmc = fakeBmc({ fail: (c, n) => (n === 1 ? FAIL.timeout : undefined) });
    const { d, observed } = driver(bmc);
    expect(await d.powerStatus(creds)).toBe('off');
    expect(observed.map(([, ok, , kind]) => [ok, kind])).toEqual([
      [false, 'timeout'],
      [true, undefined],
    ]);
  });

  it('reports a killed child as a timeout', async () => {
    const bmc = fakeBmc({ fail: () => FAIL.timeout });
    const err = await bmcFailure(
      driver(bmc, { attempts: 2, callTimeoutMs: 500 }).d.powerStatus(creds),
    );
    expect(err).toMatchObject({ kind: 'timeout', retryable: true, attempts: 2 });
    expect(err.message).toBe(
      'BMC 10.0.0.7:623: power status timed out after 0.5 s (user admin, 2 attempts)',
    );
  });

  it('does not resend a power cycle that may have reached the BMC', async () => {
    const timedOut = fakeBmc({
      power: 'on',
      fail: (c) => (c.endsWith('cycle') ? FAIL.timeout : undefined),
    });
    await bmcFailure(driver(timedOut).d.powerCycle(creds));
    expect(timedOut.commands()).toEqual(['power cycle']);

    // No session at all: the BMC never saw it, so sending it again is safe.
    const noSession = fakeBmc({
      power: 'on',
      cycleMs: 20,
      fail: (c, n) => (c.endsWith('cycle') && n === 1 ? FAIL.noAnswer : undefined),
    });
    await driver(noSession).d.powerCycle(creds);
    expect(noSession.commands().slice(0, 2)).toEqual(['power cycle', 'power cycle']);
  });

  it('does not retry a command the BMC rejected, and scrubs its stderr', async () => {
    const bmc = fakeBmc({
      fail: () => ({
        exitCode: 1,
        stderr: `Set Chassis Power Control failed: weird ${PASSWORD}\n`,
      }),
    });
    const err = await bmcFailure(driver(bmc).d.powerOn(creds));
    expect(bmc.calls).toHaveLength(1);
    expect(err).toMatchObject({ kind: 'command', retryable: false, reason: 'failed' });
    expect(err.message).toBe(
      'BMC 10.0.0.7:623: power on failed for user admin: Set Chassis Power Control failed: weird ***',
    );
    expectNoPassword(err);
  });

  it('rejects output it cannot parse', async () => {
    const bmc = fakeBmc({ fail: () => ({ stdout: 'Chassis Power is blue\n' }) });
    const err = await bmcFailure(driver(bmc).d.powerStatus(creds));
    expect(err).toMatchObject({ kind: 'command', reason: 'bad-output', retryable: false });
  });

  it('reports an ipmitool that cannot be run', async () => {
    const bmc = fakeBmc({ fail: () => ({ exitCode: null, spawnErrorCode: 'ENOENT' }) });
    const err = await bmcFailure(
      driver(bmc, { ipmitoolPath: '/opt/ipmitool' }).d.powerStatus(creds),
    );
    expect(err.message).toBe(
      'Cannot run /opt/ipmitool (ENOENT) for power status on BMC 10.0.0.7:623',
    );
    expect(bmc.calls).toHaveLength(1);
  });

  it('survives a throwing metrics callback', async () => {
    const bmc = fakeBmc();
    const { d } = driver(bmc, {
      onCall: () => {
        throw new Error('metrics down');
      },
    });
    await expect(d.powerStatus(creds)).resolves.toBe('off');
  });

  it('logs retries without the password', async () => {
    const lines: string[] = [];
    const logger = {
      debug: (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`),
      warn: (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`),
    };
    const bmc = fakeBmc({ fail: (c, n) => (n === 1 ? FAIL.noAnswer : undefined) });
    await driver(bmc, { logger }).d.powerStatus(creds);
    expect(lines[0]).toMatch(/^BMC call failed, retrying .*"bmc":"10.0.0.7:623".*"attempt":1/);
    expect(lines.join('\n')).not.toContain(PASSWORD);
  });

  it('serialises concurrent calls to one BMC', async () => {
    let running = 0;
    let most = 0;
    const bmc = fakeBmc();
    const slow: IpmitoolRunner = async (file, args, o) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return bmc.runner(file, args, o);
    };
    const { d } = driver(bmc, { runner: slow, minIntervalMs: 5 });
    await Promise.all([1, 2, 3, 4].map(() => d.powerStatus(creds)));
    expect(most).toBe(1);
  });
});

describe('IpmitoolDriver boot device', () => {
  it('sets PXE for the next boot and reads it back', async () => {
    const bmc = fakeBmc();
    await driver(bmc).d.setBootDevice(creds);
    expect(bmc.commands()).toEqual(['bootdev pxe', 'bootparam get 5']);
  });

  it('can skip the read-back', async () => {
    const bmc = fakeBmc();
    await driver(bmc).d.setBootDevice(creds, 'pxe', { verify: false });
    expect(bmc.commands()).toEqual(['bootdev pxe']);
  });

  it('fails when the read-back differs', async () => {
    const bmc = fakeBmc({ bootparamSelector: 'Force Boot from CD/DVD' });
    const err = await bmcFailure(driver(bmc).d.setBootDevice(creds, 'pxe'));
    expect(err.message).toBe(
      'BMC 10.0.0.7:623: boot device reads cdrom after setting pxe (user admin)',
    );
    expect(err).toMatchObject({ kind: 'command', retryable: true, reason: 'unconfirmed' });
  });

  it('treats an error printed with exit code 0 as a failure', async () => {
    const bmc = fakeBmc({
      fail: (c) =>
        c.includes('bootdev')
          ? { stderr: 'Set Chassis Boot Parameter 5 failed: Unspecified error\n' }
          : undefined,
    });
    const err = await bmcFailure(driver(bmc).d.setBootDevice(creds, 'safe'));
    expect(err.message).toBe(
      'BMC 10.0.0.7:623: bootdev safe failed for user admin: Set Chassis Boot Parameter 5 failed: Unspecified error',
    );
  });

  it('reads the boot device', async () => {
    expect(await driver(fakeBmc()).d.getBootDevice(creds)).toBe('none');
  });
});

describe('IpmitoolDriver credentials', () => {
  it('checks credentials', async () => {
    const bmc = fakeBmc();
    const { d } = driver(bmc);
    expect(await d.checkCredentials(creds)).toBe(true);
    expect(await d.checkCredentials({ ...creds, password: 'nope' })).toBe(false);
    expect(await d.checkCredentials({ ...creds, username: 'ghost' })).toBe(false);
  });

  it('throws when the BMC does not answer rather than calling the credentials bad', async () => {
    const bmc = fakeBmc({ fail: () => FAIL.noAnswer });
    await expect(driver(bmc, { attempts: 1 }).d.checkCredentials(creds)).rejects.toMatchObject({
      kind: 'unreachable',
    });
  });
});

describe('IpmitoolDriver options', () => {
  it('applies the defaults', () => {
    expect(new IpmitoolDriver({ minIntervalMs: undefined }).options).toMatchObject({
      ipmitoolPath: 'ipmitool',
      minIntervalMs: 100,
      callTimeoutMs: 10_000,
      attempts: 3,
      messageTimeoutS: 1,
      messageRetries: 1,
    });
    expect(() => new IpmitoolDriver({ attempts: 0 })).toThrow(RangeError);
  });
});
