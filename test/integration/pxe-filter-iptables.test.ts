import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IptablesDriver } from '../../apps/worker/src/pxe-filter/iptables-driver.ts';
import type { FilterState } from '../../apps/worker/src/pxe-filter/filter-driver.ts';

/**
 * The iptables driver against Debian's real iptables, in a network namespace of the test's own
 * (root needed): the chain and the jump it leaves, and how it replaces them. What DHCP requests
 * meet through it is checked against the real dnsmasq in test/e2e/pxe-filter.test.ts.
 */
const ns = `ipt-${process.pid}-${randomBytes(3).toString('hex')}`;
const iptables = (...args: string[]) =>
  execFileSync('ip', ['netns', 'exec', ns, 'iptables', '-w', ...args], { encoding: 'utf8' });
/** The INPUT chain's and the filter's rules, as `iptables -S` prints them. */
const rules = () =>
  iptables('-S')
    .split('\n')
    .filter((l) => l.includes('INPUT -i') || l.includes('inspector'));

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const driver = () =>
  new IptablesDriver({
    command: `ip netns exec ${ns} iptables`,
    iface: 'eth-prov',
    chain: 'ironic-inspector',
    ipVersion: '4',
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
    iptables('-F', 'ironic-inspector');
    iptables('-A', 'ironic-inspector', '-j', 'ACCEPT');
    const d = driver();
    await d.prepare();
    await d.apply(state(), false);
    expect(rules()).toEqual([
      '-N ironic-inspector',
      JUMP,
      `-A ironic-inspector -m mac --mac-source ${A} -j DROP`,
      `-A ironic-inspector -m mac --mac-source ${B} -j DROP`,
      '-A ironic-inspector -j ACCEPT',
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

  it('fails naming the command when iptables cannot be run, or refuses the rules', async () => {
    const broken = new IptablesDriver({
      command: 'no-such-iptables',
      iface: 'eth-prov',
      chain: 'ironic-inspector',
      ipVersion: '4',
    });
    await expect(broken.prepare()).rejects.toThrow(/no-such-iptables -w -S INPUT failed/);
    await expect(driver().apply(state({ ironic: new Set(['zz']) }), true)).rejects.toThrow(
      /iptables-restore -w --noflush failed \(exit 2\): .*Invalid MAC/s,
    );
  });
});
