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
 * The iptables PXE filter end to end: the API and a worker with PXE_FILTER_DRIVER=iptables as
 * processes, the worker's iptables run in the namespace of Debian's real dnsmasq, in front of
 * it. dnsmasq itself answers every MAC (an empty hosts directory): what a DHCPDISCOVER sent from
 * a MAC meets is the filter's doing.
 */
let ironic: FakeIronic;
let stack: ProcessStack;
let lab: DhcpLab;
let hostsDir: string;
const UNKNOWN = '52:54:00:ff:ff:02';

beforeAll(async () => {
  hostsDir = await mkdtemp(path.join(tmpdir(), 'pxe-iptables-e2e-'));
  await chmod(hostsDir, 0o755);
  lab = await startDhcpLab({ hostsDir });
  ironic = await startFakeIronic({ nodes: 3 });
  stack = await startProcessStack(ironic, {
    // Nodes boot and wait: their ramdisk never calls back, so they stay under introspection.
    ramdisk: () => null,
    env: {
      PXE_FILTER_DRIVER: 'iptables',
      IPTABLES_COMMAND: `ip netns exec ${lab.serverNamespace} iptables`,
      IPTABLES_INTERFACE: lab.serverInterface,
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

describe('the iptables PXE filter in front of the real dnsmasq', () => {
  it('lets only nodes under introspection reach DHCP, and unknown machines while one is', async () => {
    const [a, b] = [nodeSpec(0), nodeSpec(1)];
    // Idle: DHCP is off, for nodes Ironic knows and unknown machines alike.
    await lab.settle(a.macs[0]!, 'unseen');
    await lab.settle(UNKNOWN, 'unseen');
    const chain = execFileSync(
      'ip',
      ['netns', 'exec', lab.serverNamespace, 'iptables', '-S', 'ironic-inspector'],
      { encoding: 'utf8' },
    );
    expect(chain).toContain('-A ironic-inspector -j REJECT');

    expect((await api(stack, 'POST', `/v1/introspection/${a.uuid}`)).status).toBe(202);
    await waitUntil(
      'node 0 waiting',
      async () => (await api(stack, 'GET', `/v1/introspection/${a.uuid}`)).body.state === 'waiting',
    );
    await lab.settle(a.macs[0]!, 'offer', 2000);
    await lab.settle(UNKNOWN, 'offer', 2000);
    // A deployed node on the same network still boots from its disk.
    await lab.settle(b.macs[0]!, 'unseen');

    expect((await api(stack, 'POST', `/v1/introspection/${a.uuid}/abort`)).status).toBe(202);
    expect(await finishedStatus(stack, a.uuid)).toMatchObject({ state: 'error' });
    await lab.settle(a.macs[0]!, 'unseen');
    await lab.settle(UNKNOWN, 'unseen');
  });
});
