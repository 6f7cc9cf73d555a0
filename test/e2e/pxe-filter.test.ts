import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDhcpLab, type DhcpLab } from '../fixtures/dhcp-lab.ts';
import { nodeSpec, startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { startProcessStack, type ProcessStack } from '../helpers/process-stack.ts';
import { waitUntil } from '../helpers/processes.ts';
import { api, finishedStatus } from '../helpers/stack.ts';

/**
 * The PXE filter end to end, with each driver: the API and a filtering worker as processes, and
 * Debian's real dnsmasq answering DHCP in a network namespace. A DHCPDISCOVER sent from a MAC in
 * the test's own namespace says whether that MAC gets an answer, as a node's PXE firmware would
 * find out.
 */
interface DriverCase {
  driver: 'dnsmasq' | 'iptables';
  /** The worker's settings for this driver. */
  env(lab: DhcpLab, hostsDir: string): Record<string, string>;
  /**
   * What a kept-out MAC meets: dnsmasq ignoring it (a hosts file says so), or nothing at all
   * (iptables drops the request before dnsmasq, which alone would answer every MAC).
   */
  keptOut: 'ignored' | 'unseen';
  /** Checks what the driver left in place while no node is being introspected. */
  checkIdle(lab: DhcpLab): void;
}

const cases: DriverCase[] = [
  {
    driver: 'dnsmasq',
    env: (_lab, hostsDir) => ({ DNSMASQ_HOSTSDIR: hostsDir }),
    keptOut: 'ignored',
    checkIdle: () => undefined,
  },
  {
    driver: 'iptables',
    env: (lab) => ({
      IPTABLES_COMMAND: `ip netns exec ${lab.serverNamespace} iptables`,
      IPTABLES_INTERFACE: lab.serverInterface,
    }),
    keptOut: 'unseen',
    checkIdle: (lab) => {
      const chain = execFileSync(
        'ip',
        ['netns', 'exec', lab.serverNamespace, 'iptables', '-S', 'ironic-inspector'],
        { encoding: 'utf8' },
      );
      expect(chain).toContain('-A ironic-inspector -j REJECT');
    },
  },
];

describe.each(cases)('the $driver PXE filter against the real dnsmasq', (c) => {
  let ironic: FakeIronic;
  let stack: ProcessStack;
  let lab: DhcpLab;
  let hostsDir: string;
  const UNKNOWN = '52:54:00:ff:ff:01';

  beforeAll(async () => {
    hostsDir = await mkdtemp(path.join(tmpdir(), `pxe-${c.driver}-e2e-`));
    await chmod(hostsDir, 0o755);
    lab = await startDhcpLab({ hostsDir });
    ironic = await startFakeIronic({ nodes: 3 });
    stack = await startProcessStack(ironic, {
      // Nodes boot and wait: their ramdisk never calls back, so they stay under introspection.
      ramdisk: () => null,
      env: {
        PXE_FILTER_DRIVER: c.driver,
        ...c.env(lab, hostsDir),
        // Ironic is listed at start only: what changes after is the doing of runs beginning and ending.
        PXE_FILTER_SYNC_PERIOD_S: '3600',
        WORKER_HTTP_PORT: '0',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await ironic?.close();
    await lab?.stop();
    await rm(hostsDir, { recursive: true, force: true });
  });

  it('lets only nodes under introspection boot, and unknown machines while one is', async () => {
    const [a, b] = [nodeSpec(0), nodeSpec(1)];
    // Idle: nodes Ironic knows and unknown machines alike get no answer.
    await lab.settle(a.macs[0]!, c.keptOut);
    await lab.settle(b.macs[0]!, c.keptOut);
    await lab.settle(UNKNOWN, c.keptOut);
    c.checkIdle(lab);

    expect((await api(stack, 'POST', `/v1/introspection/${a.uuid}`)).status).toBe(202);
    await waitUntil(
      'node 0 waiting',
      async () => (await api(stack, 'GET', `/v1/introspection/${a.uuid}`)).body.state === 'waiting',
    );
    await lab.settle(a.macs[0]!, 'offer', 2000);
    await lab.settle(a.macs[1]!, 'offer', 2000);
    await lab.settle(UNKNOWN, 'offer', 2000);
    // A deployed node on the same network still boots from its disk.
    await lab.settle(b.macs[0]!, c.keptOut);

    expect((await api(stack, 'POST', `/v1/introspection/${a.uuid}/abort`)).status).toBe(202);
    expect(await finishedStatus(stack, a.uuid)).toMatchObject({ state: 'error' });
    await lab.settle(a.macs[0]!, c.keptOut);
    await lab.settle(UNKNOWN, c.keptOut);
  });
});
