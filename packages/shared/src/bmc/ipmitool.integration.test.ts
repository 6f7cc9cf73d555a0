/**
 * The driver against real ipmitool and OpenIPMI ipmi_sim BMCs started by bmc-sim
 * (shared/bmc-sim beside the checkout); fails when they are missing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BmcCredentials } from './bmc-credentials.ts';
import { parseBmcCredentials } from './bmc-credentials.ts';
import { BmcCallQueue } from './bmc-queue.ts';
import { IpmitoolDriver, type IpmitoolDriverOptions } from './ipmitool.ts';
import { startSims, stopSims } from '../../../../test/helpers/bmc-sim.ts';
import { bmcFailure } from '../../../../test/helpers/ipmi.ts';

const run = promisify(execFile);
const IPMITOOL = '/usr/bin/ipmitool';

/** Plain ipmitool, as a ramdisk or an operator would use it (password via -E too). */
async function ipmi(port: number, user: string, password: string, ...command: string[]) {
  const args = ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(port)];
  args.push('-U', user, '-E', '-N', '1', '-R', '1', ...command);
  const { stdout } = await run(IPMITOOL, args, {
    env: { PATH: process.env['PATH'], IPMI_PASSWORD: password },
  });
  return stdout;
}

const credsFor = (port: number, user = 'admin', password = 'password'): BmcCredentials =>
  parseBmcCredentials({
    ipmi_address: '127.0.0.1',
    ipmi_port: String(port),
    ipmi_username: user,
    ipmi_password: password,
    ipmi_cipher_suite: '3',
  });

/** ipmitool processes whose command line names `port`, with their argv and environment. */
function ipmitoolChildren(port: number) {
  const found: { pid: number; argv: string[]; env: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (!argv[0]?.endsWith('ipmitool') || !argv.includes(String(port))) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').filter(Boolean);
      found.push({ pid: Number(entry), argv, env });
    } catch {
      // Gone already, or not ours.
    }
  }
  return found;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('IpmitoolDriver against ipmi_sim', () => {
  let dir = '';
  let deadDir = '';
  let base = 0;
  let deadPort = 0;
  let callLog = '';
  let wrapper = '';
  const calls: [string, boolean, number][] = [];

  /** A driver tuned for the simulator: fast backoff, short confirmation bound. */
  const driver = (options: IpmitoolDriverOptions = {}) =>
    new IpmitoolDriver({
      ipmitoolPath: IPMITOOL,
      queue: new BmcCallQueue(),
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 400,
      powerConfirmTimeoutMs: 5_000,
      pollIntervalMs: 100,
      onCall: (op, ok, s) => calls.push([op, ok, s]),
      ...options,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bmc-it-'));
    deadDir = mkdtempSync(join(tmpdir(), 'bmc-it-dead-'));
    base = await startSims(dir, 3);
    // A BMC that existed and was stopped.
    deadPort = await startSims(deadDir, 1, { from: base + 10 });
    await stopSims(deadDir);
    // Records every call's start, end and argv, then runs the real ipmitool.
    callLog = join(dir, 'calls.log');
    wrapper = join(dir, 'ipmitool-wrapper.sh');
    writeFileSync(
      wrapper,
      `#!/bin/bash
s=$(date +%s%N)
${IPMITOOL} "$@"; rc=$?
echo "$s $(date +%s%N) \${IPMI_PASSWORD:+env-ok} $*" >> '${callLog}'
exit $rc
`,
      { mode: 0o700 },
    );
  }, 30_000);

  afterAll(async () => {
    if (dir) await stopSims(dir);
    if (deadDir) await stopSims(deadDir);
    for (const d of [dir, deadDir]) if (d) rmSync(d, { recursive: true, force: true });
  }, 30_000);

  it('reads the power state and powers on and off with read-back', async () => {
    const d = driver();
    const c = credsFor(base);
    expect(await d.powerStatus(c)).toBe('off');
    const on = await d.powerOn(c);
    expect(on).toMatchObject({ action: 'on', state: 'on' });
    expect(await ipmi(base, 'admin', 'password', 'power', 'status')).toContain(
      'Chassis Power is on',
    );
    const off = await d.powerOff(c);
    expect(off).toMatchObject({ action: 'off', state: 'off' });
    expect(await ipmi(base, 'admin', 'password', 'power', 'status')).toContain(
      'Chassis Power is off',
    );
    expect(calls.some(([op, ok]) => op === 'power on' && ok)).toBe(true);
  });

  it('confirms a power cycle through its off phase', async () => {
    const d = driver();
    const c = credsFor(base);
    await d.powerOn(c);
    const r = await d.powerCycle(c);
    expect(r).toMatchObject({ action: 'cycle', state: 'on' });
    // ipmi_sim reads off for about 1.2 s before it is on again.
    expect(r.seconds).toBeGreaterThan(0.9);
    expect(r.polls).toBeGreaterThan(2);
    console.info(`power cycle confirmed after ${r.seconds.toFixed(2)} s, ${r.polls} status reads`);
  });

  it('reboots: cycle when on, on when off', async () => {
    const d = driver();
    const c = credsFor(base);
    expect((await d.reboot(c)).action).toBe('cycle');
    await d.powerOff(c);
    const r = await d.reboot(c);
    expect(r).toMatchObject({ action: 'on', state: 'on' });
    await d.powerOff(c);
  });

  it('sets PXE as the one-time boot device', async () => {
    const d = driver();
    const c = credsFor(base);
    await d.setBootDevice(c, 'disk');
    expect(await d.getBootDevice(c)).toBe('disk');
    await d.setBootDevice(c, 'pxe');
    expect(await ipmi(base, 'admin', 'password', 'chassis', 'bootparam', 'get', '5')).toContain(
      'Boot Device Selector : Force PXE',
    );
    expect(await d.getBootDevice(c)).toBe('pxe');
  });

  it('fails fast on a wrong password, without retries and without the password', async () => {
    const password = 'Wr0ng-Secret-42';
    const d = driver({ ipmitoolPath: wrapper });
    const before = readLog().length;
    const err = await bmcFailure(d.powerStatus(credsFor(base, 'admin', password)));
    expect(err).toMatchObject({
      kind: 'auth',
      retryable: false,
      reason: 'credentials',
      attempts: 1,
    });
    expect(err.message).toBe(
      `BMC 127.0.0.1:${base} refused the credentials of user admin (power status)`,
    );
    expect(err.detail).toContain('RAKP 2 HMAC is invalid');
    for (const text of [err.message, err.detail, JSON.stringify(err), err.stack]) {
      expect(text ?? '').not.toContain(password);
    }
    expect(readLog().length - before).toBe(1);
    expect(await d.checkCredentials(credsFor(base, 'admin', password))).toBe(false);
    expect(await d.checkCredentials(credsFor(base, 'nobody', 'password'))).toBe(false);
    expect(await d.checkCredentials(credsFor(base))).toBe(true);
  });

  it('gives up on a stopped BMC within the bounded time, never showing the password', async () => {
    const password = 'Dead-Bmc-Pa55';
    const d = driver({ attempts: 2 });
    const pending = bmcFailure(d.powerStatus(credsFor(deadPort, 'admin', password)));
    // ipmitool waits about 2 s for a dead BMC (-N 1 -R 1): look at the live child meanwhile.
    let children: ReturnType<typeof ipmitoolChildren> = [];
    for (let i = 0; i < 20 && children.length === 0; i++) {
      await sleep(50);
      children = ipmitoolChildren(deadPort);
    }
    expect(children.length).toBeGreaterThan(0);
    for (const child of children) {
      expect(child.argv.join(' ')).not.toContain(password);
      expect(child.argv).toContain('-E');
      expect(child.env).toContain(`IPMI_PASSWORD=${password}`);
    }
    const err = await pending;
    // Bounded by attempts, not by a clock: two calls, then the failure.
    expect(err).toMatchObject({
      kind: 'unreachable',
      retryable: true,
      reason: 'no-answer',
      attempts: 2,
    });
    expect(err.message).toBe(
      `BMC 127.0.0.1:${deadPort} did not answer (power status, user admin, 2 attempts)`,
    );
    expect(err.message + (err.detail ?? '')).not.toContain(password);
  }, 15_000);

  it('kills a call that exceeds the call timeout', async () => {
    const d = driver({ attempts: 1, callTimeoutMs: 300 });
    const err = await bmcFailure(d.powerOn(credsFor(deadPort)));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true, reason: 'call-timeout' });
    expect(err.message).toBe(
      `BMC 127.0.0.1:${deadPort}: power on timed out after 0.3 s (user admin, 1 attempt)`,
    );
    await sleep(50);
    expect(ipmitoolChildren(deadPort)).toEqual([]);
  });

  it('serialises concurrent commands to one BMC, not across BMCs', async () => {
    const d = driver({ ipmitoolPath: wrapper, minIntervalMs: 100 });
    const before = readLog().length;
    const one = credsFor(base);
    const other = credsFor(base + 2);
    const states = await Promise.all([
      ...[1, 2, 3, 4].map(() => d.powerStatus(one)),
      ...[1, 2, 3, 4].map(() => d.powerStatus(other)),
    ]);
    expect(states).toEqual(Array(8).fill('off'));
    const entries = readLog().slice(before);
    expect(entries).toHaveLength(8);
    for (const e of entries) {
      expect(e.env).toBe(true);
      expect(e.args).not.toContain('password');
    }
    const spans = (port: number) =>
      entries.filter((e) => e.args.includes(`-p ${port} `)).sort((a, b) => a.start - b.start);
    const a = spans(base);
    expect(a).toHaveLength(4);
    for (let k = 1; k < a.length; k++) {
      // No overlap, and at least the minimum interval between them (timers may fire ~1 ms early).
      expect(a[k]!.start - a[k - 1]!.end).toBeGreaterThanOrEqual(98);
    }
    const b = spans(base + 2);
    expect(b[0]!.start).toBeLessThan(a[1]!.start);
  });

  it('checks credentials changed as the ramdisk changes them: the new work, the old no longer', async () => {
    const port = base + 1;
    // `ipmitool user ...` as the ramdisk runs it (in-band there, over LAN here, so each step
    // uses the credentials valid at that point: the rename takes effect at once).
    await ipmi(port, 'admin', 'password', 'user', 'set', 'name', '2', 'ironic');
    await ipmi(port, 'ironic', 'password', 'user', 'set', 'password', '2', 'N3w-Secret');
    await ipmi(port, 'ironic', 'N3w-Secret', 'user', 'enable', '2');
    await ipmi(
      port,
      'ironic',
      'N3w-Secret',
      ...'channel setaccess 1 2 link=on ipmi=on callin=on privilege=4'.split(' '),
    );

    const d = driver();
    const next = credsFor(port, 'ironic', 'N3w-Secret');
    expect(await d.checkCredentials(next)).toBe(true);
    expect(await d.checkCredentials(credsFor(port))).toBe(false);
    expect(await d.checkCredentials(credsFor(port, 'ironic', 'password'))).toBe(false);
    expect(await d.powerStatus(next)).toBe('off');
  });

  function readLog(): { start: number; end: number; env: boolean; args: string }[] {
    let text = '';
    try {
      text = readFileSync(callLog, 'utf8');
    } catch {
      return [];
    }
    return text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [start, end, env, ...args] = line.split(' ');
        return {
          start: Number(start) / 1e6,
          end: Number(end) / 1e6,
          env: env === 'env-ok',
          args: `${args.join(' ')} `,
        };
      });
  }
});
