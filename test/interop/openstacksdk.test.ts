/**
 * openstacksdk's baremetal_introspection proxy (Debian's python3-openstacksdk),
 * unchanged, against the running service: API and worker processes, a fake
 * Ironic whose PXE-booted nodes post their ramdisk data. Once with no auth,
 * once with Keystone (the fake one) issuing and validating the tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSpec, startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { keystoneToken, startFakeKeystone, type FakeKeystone } from '../fixtures/fake-keystone.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { waitUntil } from '../helpers/processes.ts';
import { api } from '../helpers/stack.ts';
import {
  requireOpenstackSdk,
  runSdkClient,
  runSdkList,
  type CloudConfig,
  type SdkReport,
} from './sdk-client.ts';
import { startInspector, type RunningService } from './service.ts';

const UNKNOWN = '5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716';
const [MAIN, MANUAL, EARLIER] = [nodeSpec(0), nodeSpec(1), nodeSpec(2)];

interface Bench {
  ironic: FakeIronic;
  service: RunningService;
  stop(): Promise<void>;
}

async function startBench(env: Record<string, string> = {}): Promise<Bench> {
  const ironic = await startFakeIronic({ nodes: 3 });
  const service = await startInspector({ IRONIC_URL: ironic.url, ...env });
  ironic.onPowerOn = async (node, info) => {
    if (info.bootDevice !== 'pxe' || node.fake.index === null) return;
    await postRamdiskData(service.url, buildRamdiskData(nodeSpec(node.fake.index)));
  };
  return {
    ironic,
    service,
    async stop() {
      await service.stop();
      await ironic.close();
    },
  };
}

beforeAll(requireOpenstackSdk);

/** A run introspected before the SDK starts, so the list has two pages at limit=1. */
async function introspectDirectly(bench: Bench, headers: Record<string, string> = {}) {
  const path = `/v1/introspection/${EARLIER.uuid}`;
  expect((await api(bench.service, 'POST', path, undefined, headers)).status).toBe(202);
  await waitUntil(`${EARLIER.name} finished`, async () => {
    const res = await api(bench.service, 'GET', path, undefined, headers);
    return res.body.finished;
  });
}

/** What every full SDK run must show, whatever the auth. */
function expectSdkFlow(bench: Bench, report: SdkReport): void {
  // The SDK reads the status back right after the POST: the same run, whatever its state by then.
  expect(report.started).toMatchObject({ id: MAIN.uuid, started_at: report.waited.started_at });
  expect(report.waited).toMatchObject({
    id: MAIN.uuid,
    state: 'finished',
    error: null,
    is_finished: true,
  });
  expect(report.waited.finished_at).toEqual(expect.any(String));
  expect(report.waited.links[0]!.href).toBe(`${bench.service.url}/v1/introspection/${MAIN.uuid}`);
  expect(report.fetched).toEqual(report.waited);

  // Newest first; the manual node is started after the listing.
  expect(report.listed.map((s) => s.id)).toEqual([MAIN.uuid, EARLIER.uuid]);
  expect(report.listed[0]).toEqual(report.waited);
  expect(report.listed_paged).toEqual([MAIN.uuid, EARLIER.uuid]);

  const inventory = report.data.inventory as { interfaces: { mac_address: string }[] };
  expect(inventory.interfaces.map((i) => i.mac_address)).toEqual(MAIN.macs);
  expect(report.data).toMatchObject({ cpus: 8, memory_mb: 16384, local_gb: 99 });
  expect(report.data).toHaveProperty('all_interfaces');
  expect(report.unprocessed.inventory).toEqual(report.data.inventory);
  expect(report.unprocessed).not.toHaveProperty('all_interfaces');

  expect(report.manual_waiting).toMatchObject({ id: MANUAL.uuid, state: 'waiting', error: null });
  expect(report.aborted).toMatchObject({
    id: MANUAL.uuid,
    state: 'error',
    error: 'Canceled by operator',
    is_finished: true,
  });
  expect(report.wait_on_error).toMatchObject({ exception: 'ResourceFailure' });
  expect(report.wait_on_error!.message).toContain('Canceled by operator');
  expect(report.unknown).toMatchObject({ status_code: 404 });
  expect(report.unknown!.message).toContain(`Could not find node ${UNKNOWN} in cache`);

  const node = bench.ironic.node(MAIN.uuid)!;
  expect(node.properties).toMatchObject({ cpus: '8', memory_mb: '16384', local_gb: '99' });
  expect(node.power_state).toBe('power off');
  // manage_boot=False crossed the SDK: nothing ever booted the manual node.
  expect(bench.ironic.node(MANUAL.uuid)!.fake.boots).toEqual([]);
}

const flow = (cloud: CloudConfig) =>
  runSdkClient({ cloud, node: MAIN.name, manualNode: MANUAL.uuid, unknown: UNKNOWN });

describe('openstacksdk baremetal_introspection, no auth', () => {
  let bench: Bench;
  beforeAll(async () => {
    bench = await startBench();
  });
  afterAll(() => bench?.stop());

  it('starts, waits, gets, lists, reads data and aborts', { timeout: 150_000 }, async () => {
    await introspectDirectly(bench);
    const cloud = {
      auth_type: 'none',
      baremetal_introspection_endpoint_override: bench.service.url,
    };
    expectSdkFlow(bench, await flow(cloud));
  });

  it("answers with upstream's version range headers", async () => {
    const res = await fetch(`${bench.service.url}/`);
    expect(res.headers.get('X-OpenStack-Ironic-Inspector-API-Minimum-Version')).toBe('1.0');
    expect(res.headers.get('X-OpenStack-Ironic-Inspector-API-Maximum-Version')).toBe('1.18');
  });
});

describe('openstacksdk baremetal_introspection, Keystone', () => {
  let keystone: FakeKeystone;
  let bench: Bench;
  beforeAll(async () => {
    keystone = await startFakeKeystone();
    bench = await startBench({
      AUTH_STRATEGY: 'keystone',
      KEYSTONE_URL: keystone.url,
      KEYSTONE_USERNAME: 'inspector',
      KEYSTONE_PASSWORD: 'inspectorpass',
      KEYSTONE_PROJECT: 'service',
    });
  });
  afterAll(async () => {
    await bench?.stop();
    await keystone?.close();
  });

  const cloudOf = (username: string, password: string): CloudConfig => ({
    auth_type: 'password',
    auth: {
      auth_url: `${keystone.url}/v3`,
      username,
      password,
      project_name: 'admin',
      user_domain_name: 'Default',
      project_domain_name: 'Default',
    },
    region_name: 'RegionOne',
    baremetal_introspection_endpoint_override: bench.service.url,
  });

  it('an admin drives the whole flow with a Keystone token', { timeout: 150_000 }, async () => {
    const token = await keystoneToken(keystone.url, 'operator', 'operatorpass', 'admin');
    await introspectDirectly(bench, { 'X-Auth-Token': token });
    keystone.resetCounts();
    expectSdkFlow(bench, await flow(cloudOf('operator', 'operatorpass')));
    // The SDK got its token from Keystone and the service checked it there.
    expect(keystone.counts.authenticate).toBeGreaterThan(0);
    expect(keystone.counts.validate).toBeGreaterThan(0);
  });

  it('a reader is refused with 403, a caller without a token with 401', async () => {
    const reader = await runSdkList(cloudOf('viewer', 'viewerpass'));
    expect(reader.list_failure).toMatchObject({ status_code: 403 });
    const anonymous = await runSdkList({
      auth_type: 'none',
      baremetal_introspection_endpoint_override: bench.service.url,
    });
    expect(anonymous.list_failure).toMatchObject({ status_code: 401 });
  });
});
