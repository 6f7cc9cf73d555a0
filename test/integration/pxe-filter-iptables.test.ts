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
const JUMP = '-A INPUT -i eth-prov -p udp -m udp --dport 67 -j ironic-inspector';

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', ns]);
});
afterAll(() => {
  execFileSync('ip', ['netns', 'del', ns]);
});

describe('iptables PXE filter driver (real iptables in a namespace)', () => {
  it('builds the chain DHCP requests on the interface jump to, and rebuilds it as the state moves', async () => {
    const d = driver();
    await d.prepare();
    expect(await d.apply(state({ introspected: new Set([A]) }))).toEqual({
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
    expect(await d.apply(state({ unknownAllowed: false }))).toEqual({ allow: 0, deny: 2 });
    expect(rules()).toEqual([
      '-N ironic-inspector',
      JUMP,
      '-A ironic-inspector -j REJECT --reject-with icmp-port-unreachable',
    ]);
  });

  it('does not rebuild a chain the same as the last', async () => {
    const d = driver();
    await d.prepare();
    await d.apply(state());
    // A rule the driver did not write survives only if the chain is left alone.
    iptables('-I', 'ironic-inspector', '-s', '10.9.9.9', '-j', 'DROP');
    await d.apply(state());
    expect(rules()).toContain('-A ironic-inspector -s 10.9.9.9/32 -j DROP');
    await d.apply(state({ introspected: new Set([B]) }));
    expect(rules()).not.toContain('-A ironic-inspector -s 10.9.9.9/32 -j DROP');
  });

  it('takes over what a dead process left: a half-built temporary chain and the last chain', async () => {
    iptables('-N', 'ironic-inspector_temp');
    iptables('-A', 'ironic-inspector_temp', '-j', 'ACCEPT');
    iptables(
      '-I',
      'INPUT',
      '-i',
      'eth-prov',
      '-p',
      'udp',
      '--dport',
      '67',
      '-j',
      'ironic-inspector_temp',
    );
    const d = driver();
    await d.prepare();
    await d.apply(state());
    expect(rules()).toEqual([
      '-N ironic-inspector',
      JUMP,
      `-A ironic-inspector -m mac --mac-source ${A} -j DROP`,
      `-A ironic-inspector -m mac --mac-source ${B} -j DROP`,
      '-A ironic-inspector -j ACCEPT',
    ]);
  });

  it('leaves the chain in place when the worker stops: removing it would answer every node', async () => {
    const d = driver();
    await d.prepare();
    await d.apply(state({ unknownAllowed: false }));
    await d.close();
    expect(rules()).toContain(JUMP);
  });

  it('fails at start, naming the command, when iptables cannot be run', async () => {
    const broken = new IptablesDriver({
      command: 'no-such-iptables',
      iface: 'eth-prov',
      chain: 'ironic-inspector',
      ipVersion: '4',
    });
    await expect(broken.prepare()).rejects.toThrow(/no-such-iptables -w -S INPUT failed/);
  });
});
