import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@inspector/shared';
import {
  IptablesDriver,
  type IptablesDriverOptions,
} from '../../apps/worker/src/pxe-filter/iptables-driver.ts';
import type { FilterState } from '../../apps/worker/src/pxe-filter/filter-driver.ts';

/**
 * The iptables driver against Debian's real iptables, in a network namespace of the test's own
 * (root needed): the chain and the jump it leaves, and how it replaces them. What DHCP requests
 * meet through it is checked against the real dnsmasq in test/e2e/pxe-filter.test.ts.
 */
const ns = `ipt-${process.pid}-${randomBytes(3).toString('hex')}`;
const inNs = (tool: string, ...args: string[]) =>
  execFileSync('ip', ['netns', 'exec', ns, tool, '-w', ...args], { encoding: 'utf8' });
const iptables = (...args: string[]) => inNs('iptables', ...args);
/** The INPUT chain's and the filter's rules, as `iptables -S` prints them. */
const rules = (tool = 'iptables') =>
  inNs(tool, '-S')
    .split('\n')
    .filter((l) => l.includes('INPUT -i') || l.includes('inspector'));

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const driver = (over: Partial<IptablesDriverOptions> = {}) =>
  new IptablesDriver({
    command: ['ip', 'netns', 'exec', ns, 'iptables'],
    iface: 'eth-prov',
    chain: 'ironic-inspector',
    ipVersion: '4',
    logger: createLogger('silent', 'test'),
    ...over,
  });
const state = (over: Partial<FilterState> = {}): FilterState => ({
  introspected: new Set(),
  ironic: new Set([A, B]),
  unknownAllowed: true,
  ...over,
});
const hex = (n: number) => n.toString(16).padStart(2, '0');
const JUMP = '-A INPUT -i eth-prov -p udp -m udp --dport 67 -j ironic-inspector';

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', ns]);
});
afterAll(() => {
  execFileSync('ip', ['netns', 'del', ns]);
});

describe('iptables PXE filter driver (real iptables in a namespace)', () => {
  it('builds the chain DHCP requests on the interface jump to, and rewrites it as the state moves', async () => {
    const d = driver();
    await d.prepare();
    expect(await d.apply(state({ introspected: new Set([A]) }), true)).toEqual({
      allow: 1,
      deny: 1,
    });
    expect(rules()).toEqual([
      '-N ironic-inspector',
      JUMP,
      `-A ironic-inspector -m mac --mac-source ${B} -j DROP`,
      '-A ironic-inspector -j ACCEPT',
    ]);
    // Every Ironic MAC is kept out, by the one REJECT: counted as the dnsmasq driver would.
    expect(await d.apply(state({ unknownAllowed: false }), false)).toEqual({ allow: 0, deny: 2 });
    expect(rules()).toEqual([
      '-N ironic-inspector',
      JUMP,
      '-A ironic-inspector -j REJECT --reject-with icmp-port-unreachable',
    ]);
  });

  it('leaves an unchanged chain alone between full syncs, and writes it again at the next', async () => {
    const d = driver();
    await d.prepare();
    await d.apply(state(), true);
    // A rule the driver did not write survives only while the chain is left alone.
    const stray = '-A ironic-inspector -s 10.9.9.9/32 -j DROP';
    iptables('-I', 'ironic-inspector', '-s', '10.9.9.9', '-j', 'DROP');
    await d.apply(state(), false);
    expect(rules()).toContain(stray);
    await d.apply(state(), true);
    expect(rules()).not.toContain(stray);
    iptables('-I', 'ironic-inspector', '-s', '10.9.9.9', '-j', 'DROP');
    await d.apply(state({ introspected: new Set([B]) }), false);
    expect(rules()).not.toContain(stray);
  });

  it('puts back, at the next full sync, a jump someone removed', async () => {
    const d = driver();
    await d.prepare();
    await d.apply(state(), true);
    iptables('-D', ...JUMP.replace('-A ', '').replace('-m udp ', '').split(' '));
    expect(rules()).not.toContain(JUMP);
    await d.apply(state(), true);
    expect(rules().filter((r) => r === JUMP)).toHaveLength(1);
  });

  it('takes over what an earlier process left: its rules replaced, its jump kept once', async () => {
    const chain = 'old-inspector';
    const jump = ['INPUT', '-i', 'eth-prov', '-p', 'udp', '--dport', '67', '-j', chain];
    iptables('-N', chain);
    iptables('-A', chain, '-j', 'ACCEPT');
    iptables('-I', ...jump);
    const d = driver({ chain });
    await d.prepare();
    await d.apply(state(), false);
    expect(rules().filter((r) => r.includes(chain))).toEqual([
      `-N ${chain}`,
      JUMP.replace('ironic-inspector', chain),
      `-A ${chain} -m mac --mac-source ${A} -j DROP`,
      `-A ${chain} -m mac --mac-source ${B} -j DROP`,
      `-A ${chain} -j ACCEPT`,
    ]);
    iptables('-D', ...jump);
    iptables('-F', chain);
    iptables('-X', chain);
  });

  it('keeps IPv6 DHCP (UDP 547) out with ip6tables', async () => {
    const d = driver({ command: ['ip', 'netns', 'exec', ns, 'ip6tables'], ipVersion: '6' });
    await d.prepare();
    await d.apply(state({ unknownAllowed: false }), true);
    expect(rules('ip6tables')).toEqual([
      '-N ironic-inspector',
      '-A INPUT -i eth-prov -p udp -m udp --dport 547 -j ironic-inspector',
      '-A ironic-inspector -j REJECT --reject-with icmp6-port-unreachable',
    ]);
  });

  it('writes thousands of MACs in one call', async () => {
    const many = new Set(
      Array.from({ length: 3000 }, (_, i) => `52:54:01:00:${hex(i >> 8)}:${hex(i & 255)}`),
    );
    const d = driver();
    await d.prepare();
    expect(await d.apply(state({ ironic: many }), true)).toEqual({ allow: 0, deny: 3000 });
    expect(rules().filter((r) => r.endsWith('-j DROP'))).toHaveLength(3000);
  });

  it('leaves the chain in place when the worker stops: removing it would answer every node', async () => {
    const d = driver();
    await d.prepare();
    await d.apply(state({ unknownAllowed: false }), true);
    await d.close();
    expect(rules()).toContain(JUMP);
  });

  it('fails naming the command when iptables cannot be run, or refuses the rules, leaving the chain as it was', async () => {
    await expect(driver({ command: ['no-such-iptables'] }).prepare()).rejects.toThrow(
      /no-such-iptables -w -S INPUT failed/,
    );
    const d = driver();
    await d.apply(state({ introspected: new Set([A]) }), true);
    const before = rules();
    await expect(d.apply(state({ ironic: new Set([A, 'zz']) }), true)).rejects.toThrow(
      /iptables-restore -w --noflush failed \(exit 2\): .*Invalid MAC/s,
    );
    expect(rules()).toEqual(before);
    expect(before).toContain(`-A ironic-inspector -m mac --mac-source ${B} -j DROP`);
  });

  it('fails at start when the restore command is missing, though iptables runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipt-'));
    try {
      const fw = join(dir, 'fw');
      writeFileSync(fw, '#!/bin/sh\nexec iptables "$@"\n');
      chmodSync(fw, 0o755);
      await expect(driver({ command: ['ip', 'netns', 'exec', ns, fw] }).prepare()).rejects.toThrow(
        `${fw}-restore -w --test --noflush failed`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a chain named for a built-in, which --noflush would not empty', () => {
    expect(() => driver({ chain: 'INPUT' })).toThrow(
      /^iptables chain "INPUT": expected a lowercase letter, - or \. in it/,
    );
  });

  it('warns at start when the interface is not where iptables runs', async () => {
    const lines: string[] = [];
    const out = new PassThrough().on('data', (b: Buffer) => lines.push(b.toString()));
    const logger = createLogger('warn', 'test', out);
    // eth-prov is in the namespace the command enters, not on this host.
    execFileSync('ip', ['-n', ns, 'link', 'add', 'eth-prov', 'type', 'veth', 'peer', 'eth-peer']);
    expect(existsSync('/sys/class/net/eth-prov')).toBe(false);
    await driver({ iface: 'eth-prov', logger }).prepare();
    await driver({ iface: 'lo', logger }).prepare();
    await driver({ iface: 'eth+', logger }).prepare();
    await driver({ iface: 'eth-gone', logger }).prepare();
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        iface: 'eth-gone',
        err: expect.stringContaining('eth-gone'),
        msg: 'PXE filter: interface not found; DHCP requests skip the chain until it appears',
      }),
    ]);
  });
});
