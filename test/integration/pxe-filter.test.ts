import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@inspector/shared';
import {
  DnsmasqDriver,
  type DnsmasqDriverOptions,
} from '../../apps/worker/src/pxe-filter/dnsmasq-driver.ts';
import { PxeFilter, type PxeFilterOptions } from '../../apps/worker/src/pxe-filter/pxe-filter.ts';
import { UNKNOWN_HOSTS_FILE } from '../../apps/worker/src/pxe-filter/dnsmasq-plan.ts';
import { HostsDir } from '../../apps/worker/src/pxe-filter/hosts-dir.ts';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { sample } from '../helpers/metrics.ts';
import { waitUntil } from '../helpers/processes.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

/**
 * The dnsmasq PXE filter against the real Redis store and the fake Ironic: the hosts directory
 * it writes as runs begin and end. That dnsmasq reads these files as meant is proven against the
 * real dnsmasq in test/e2e/pxe-filter.test.ts.
 */
let stack: Stack;
const silent = new Set<string>();
const filters: PxeFilter[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  stack = await startStack({}, { nodes: 4 });
  stack.onBoot = (node) => (silent.has(node.uuid) ? null : {});
});
afterEach(async () => {
  await Promise.all(filters.splice(0).map((f) => f.stop()));
});
afterAll(async () => {
  await stack?.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function newDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hostsdir-'));
  dirs.push(dir);
  return dir;
}

async function startFilter(
  opts: Partial<PxeFilterOptions> & Partial<DnsmasqDriverOptions> & { dir?: string } = {},
): Promise<{ filter: PxeFilter; dir: string }> {
  const dir = opts.dir ?? (await newDir());
  const logger = createLogger('silent', 'test');
  const filter = new PxeFilter({
    driver: new DnsmasqDriver({ hostsDir: new HostsDir(dir), purge: true, logger, ...opts }),
    store: stack.worker.store,
    ironic: stack.worker.ironic,
    logger,
    metrics: stack.worker.metrics,
    // Only runs beginning and ending sync it, unless a test asks: what it writes is their doing.
    periodMs: 3_600_000,
    discovery: false,
    ...opts,
  });
  filters.push(filter);
  await filter.start();
  return { filter, dir };
}

/** The hosts directory as dnsmasq sees it: each file's text, dot files (being written) aside. */
async function hosts(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.'));
  const texts = await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')));
  return Object.fromEntries(names.map((n, i) => [n, texts[i]!]));
}

const denied = (mac: string) => `${mac},ignore\n`;
const allowed = (mac: string) => `${mac}\n`;
const ALL_UNKNOWN_DENIED = '*:*:*:*:*:*,ignore\n';
const ALL_UNKNOWN_ALLOWED = '*:*:*:*:*:*\n';

/** Every port MAC of the fake's four nodes, denied, and unknown hosts with `unknown`. */
function idle(unknown = ALL_UNKNOWN_DENIED): Record<string, string> {
  const files: Record<string, string> = { [UNKNOWN_HOSTS_FILE]: unknown };
  for (let i = 0; i < 4; i++) for (const mac of nodeSpec(i).macs) files[mac] = denied(mac);
  return files;
}

const eventually = (dir: string, want: Record<string, string>) =>
  waitUntil(
    'the hosts directory to say what is expected',
    async () => JSON.stringify(await hosts(dir)) === JSON.stringify(sorted(want)),
    10_000,
    20,
  ).catch(async (err: Error) => {
    expect(await hosts(dir), err.message).toEqual(want);
  });

const sorted = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

describe('dnsmasq PXE filter', () => {
  it('starts from an empty directory and denies every MAC Ironic has, and unknown hosts', async () => {
    const dir = await newDir();
    await writeFile(path.join(dir, 'left-over'), 'aa:bb:cc:dd:ee:ff\n');
    await writeFile(path.join(dir, nodeSpec(0).macs[0]!), allowed(nodeSpec(0).macs[0]!));
    await startFilter({ dir });
    expect(await hosts(dir)).toEqual(idle());
    expect(
      await sample(stack.worker.metrics, 'inspector_pxe_filter_macs', { policy: 'deny' }),
    ).toBe(8);
  });

  it('lets a node under introspection through as its run begins, and denies it again as it ends', async () => {
    const { dir } = await startFilter();
    const spec = nodeSpec(1);
    silent.add(spec.uuid);
    const start = await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    expect(start.status).toBe(202);
    const during = idle(ALL_UNKNOWN_ALLOWED);
    for (const mac of spec.macs) during[mac] = allowed(mac);
    await eventually(dir, during);

    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}/abort`)).status).toBe(202);
    expect(await finishedStatus(stack, spec.uuid)).toMatchObject({ state: 'error' });
    await eventually(dir, idle());
  });

  it('denies again the MACs of a node whose introspection finished', async () => {
    const { dir } = await startFilter();
    const spec = nodeSpec(2);
    silent.add(spec.uuid);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    const during = idle(ALL_UNKNOWN_ALLOWED);
    for (const mac of spec.macs) during[mac] = allowed(mac);
    await eventually(dir, during);
    // The ramdisk calls back: the node is processed, powered off and finished.
    const reply = await postRamdiskData(stack.url, buildRamdiskData(spec, {}));
    expect(reply.status).toBe(200);
    expect(await finishedStatus(stack, spec.uuid)).toMatchObject({ state: 'finished' });
    await eventually(dir, idle());
  });

  it('with discovery on, lets unknown hosts through while idle', async () => {
    const { dir } = await startFilter({ discovery: true });
    expect(await hosts(dir)).toEqual(idle(ALL_UNKNOWN_ALLOWED));
  });

  it("starts while Ironic does not answer, and writes Ironic's MACs once it does", async () => {
    const fault = stack.ironic.faults.add({ method: 'GET', path: '/v1/ports', status: 503 });
    const failed =
      (await sample(stack.worker.metrics, 'inspector_pxe_filter_sync_total', {
        result: 'failed',
      })) ?? 0;
    let filter!: PxeFilter;
    let dir!: string;
    try {
      ({ filter, dir } = await startFilter());
      expect(fault.hits).toBeGreaterThan(0);
      expect(await hosts(dir)).toEqual({ [UNKNOWN_HOSTS_FILE]: ALL_UNKNOWN_DENIED });
      expect(
        await sample(stack.worker.metrics, 'inspector_pxe_filter_sync_total', { result: 'failed' }),
      ).toBe(failed + 1);
    } finally {
      fault.remove();
    }
    await filter.sync('full');
    expect(await hosts(dir)).toEqual(idle());
  });

  it('treats the MACs of a node deleted from Ironic as unknown hosts', async () => {
    const extra = stack.ironic.addNode({ index: 9 });
    const { filter, dir } = await startFilter();
    const macs = nodeSpec(9).macs;
    expect(await hosts(dir)).toMatchObject({ [macs[0]!]: denied(macs[0]!) });
    stack.ironic.removeNode(extra.uuid);
    await filter.sync('full');
    // Still denied (unknown hosts are, while idle), and rewritten as unknown, not forgotten.
    expect(await hosts(dir)).toEqual({
      ...idle(),
      [macs[0]!]: denied(macs[0]!),
      [macs[1]!]: denied(macs[1]!),
    });
    const spec = nodeSpec(3);
    silent.add(spec.uuid);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    // While a run is on, unknown hosts boot, and so does the machine Ironic forgot.
    const during = {
      ...idle(ALL_UNKNOWN_ALLOWED),
      [spec.macs[0]!]: allowed(spec.macs[0]!),
      [spec.macs[1]!]: allowed(spec.macs[1]!),
      [macs[0]!]: allowed(macs[0]!),
      [macs[1]!]: allowed(macs[1]!),
    };
    await eventually(dir, during);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}/abort`)).status).toBe(202);
    await finishedStatus(stack, spec.uuid);
  });

  it('fails closed while Ironic does not answer: only introspected MACs, no unknown hosts', async () => {
    const spec = nodeSpec(3);
    silent.add(spec.uuid);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    const fault = stack.ironic.faults.add({ method: 'GET', path: '/v1/ports', status: 503 });
    try {
      const { dir } = await startFilter({ discovery: true });
      expect(await hosts(dir)).toEqual({
        [UNKNOWN_HOSTS_FILE]: ALL_UNKNOWN_DENIED,
        [spec.macs[0]!]: allowed(spec.macs[0]!),
        [spec.macs[1]!]: allowed(spec.macs[1]!),
      });
    } finally {
      fault.remove();
      expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}/abort`)).status).toBe(202);
      await finishedStatus(stack, spec.uuid);
    }
  });

  it('catches a run that begins while its first sync reads the store', async () => {
    const spec = nodeSpec(1);
    silent.add(spec.uuid);
    const store = stack.worker.store;
    let first = true;
    const { dir } = await startFilter({
      store: {
        runsVersion: () => store.runsVersion(),
        async ramdiskMacs() {
          const held = await store.ramdiskMacs();
          if (first) {
            first = false;
            // The run begins after the filter read the store, before it wrote the files.
            expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
          }
          return held;
        },
      },
    });
    const during = idle(ALL_UNKNOWN_ALLOWED);
    for (const mac of spec.macs) during[mac] = allowed(mac);
    await eventually(dir, during);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}/abort`)).status).toBe(202);
    await finishedStatus(stack, spec.uuid);
    await eventually(dir, idle());
  });

  it('writes files dnsmasq can read whatever the umask', async () => {
    const umask = process.umask(0o077);
    try {
      const { dir } = await startFilter();
      const modes = await Promise.all(
        Object.keys(await hosts(dir)).map(
          async (n) => (await stat(path.join(dir, n))).mode & 0o777,
        ),
      );
      expect(new Set(modes)).toEqual(new Set([0o644]));
    } finally {
      process.umask(umask);
    }
  });

  it('runs the start command once the first sync is written, and the stop command at stop', async () => {
    const dir = await newDir();
    const marks = await newDir();
    const { filter } = await startFilter({
      dir,
      startCommand: `cp "${dir}/${UNKNOWN_HOSTS_FILE}" "${marks}/started"`,
      stopCommand: `touch "${marks}/stopped"`,
    });
    expect(await readFile(path.join(marks, 'started'), 'utf8')).toBe(ALL_UNKNOWN_DENIED);
    await filter.stop();
    expect(await readdir(marks)).toEqual(['started', 'stopped']);
  });

  it('refuses to start when the start command fails or the directory cannot be written', async () => {
    await expect(startFilter({ startCommand: 'echo no dnsmasq here >&2; exit 3' })).rejects.toThrow(
      'dnsmasq start command failed (exit 3): no dnsmasq here',
    );
    await expect(startFilter({ dir: path.join(tmpdir(), 'no-such-hostsdir-x') })).rejects.toThrow(
      /ENOENT/,
    );
  });
});

describe("the store's count of runs begun or ended", () => {
  it('moves as a run begins and as it ends, not in between', async () => {
    const store = stack.worker.store;
    const spec = nodeSpec(0);
    silent.add(spec.uuid);
    const before = Number(await store.runsVersion());
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil(
      'node 0 waiting',
      async () => (await store.runState(spec.uuid))?.state === 'waiting',
    );
    expect(Number(await store.runsVersion())).toBe(before + 1);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}/abort`)).status).toBe(202);
    await finishedStatus(stack, spec.uuid);
    expect(Number(await store.runsVersion())).toBe(before + 2);
  });
});
