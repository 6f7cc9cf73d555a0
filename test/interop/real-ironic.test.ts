/**
 * The service against Debian's real Ironic 21.4 (fake-hardware nodes): as
 * Ironic's client when it introspects, and as the inspector Ironic's own
 * `inspector` inspect interface calls. fake-hardware boots nothing, so the
 * test plays the ramdisk once the node is powered on and waiting.
 *
 * Slow to set up (Ironic takes ~10-20 s to start), so it runs only with
 * REAL_IRONIC=1, which `bash .ci/run` sets after installing Ironic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSpec, type NodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { freePort, waitUntil } from '../helpers/processes.ts';
import { api } from '../helpers/stack.ts';
import {
  enrolNode,
  portsOf,
  startIronicInspection,
  startRealIronic,
  type RealIronic,
} from './real-ironic.ts';
import { startRecordingProxy, type RecordedCall, type RecordingProxy } from './recording-proxy.ts';
import { startInspector, type RunningService } from './service.ts';

const ENABLED = process.env.REAL_IRONIC === '1';
const SKIP_REASON =
  'real Ironic interop suite NOT run: set REAL_IRONIC=1 to run it (needs Debian ironic-api and ' +
  'ironic-conductor; `bash .ci/run` installs them and runs it)';
if (!ENABLED) console.warn(SKIP_REASON);

const POLL_S = 1;
/** Ironic's conductor, its periodic status check and the service share two busy cores. */
const eventually = <T>(what: string, probe: () => Promise<T | undefined | null | false>) =>
  waitUntil(what, probe, 60_000, 100);
const PROPERTIES = { cpus: '8', cpu_arch: 'x86_64', memory_mb: '16384', local_gb: '99' };

describe.skipIf(!ENABLED)(
  'against a real Ironic (Debian 21.4, fake-hardware)',
  { timeout: 120_000 },
  () => {
    let ironic: RealIronic;
    let service: RunningService;
    /** Ironic → service. */
    let fromIronic: RecordingProxy;
    /** Service → Ironic. */
    let toIronic: RecordingProxy;

    beforeAll(async () => {
      const [ironicPort, servicePort] = [await freePort(), await freePort()];
      fromIronic = await startRecordingProxy(`http://127.0.0.1:${servicePort}`);
      toIronic = await startRecordingProxy(`http://127.0.0.1:${ironicPort}`);
      // Both settle before a failure is thrown, so afterAll stops whichever did start.
      const started = await Promise.allSettled([
        startRealIronic({ port: ironicPort, inspectorUrl: fromIronic.url, pollS: POLL_S }).then(
          (i) => (ironic = i),
        ),
        // Frequent clean-ups, for the Ironic sync's case; discovery for the enrolment's.
        startInspector(
          { IRONIC_URL: toIronic.url, CLEAN_UP_PERIOD_S: '2', NODE_NOT_FOUND_HOOK: 'enroll' },
          servicePort,
        ).then((s) => (service = s)),
      ]);
      for (const result of started) if (result.status === 'rejected') throw result.reason;
    }, 240_000);

    afterAll(async () => {
      await service?.stop();
      await ironic?.close();
      await fromIronic?.close();
      await toIronic?.close();
    });

    const status = async (uuid: string) =>
      (await api(service, 'GET', `/v1/introspection/${uuid}`)).body;

    /** The ramdisk's part: once the service waits and Ironic has powered the node on, post its data. */
    async function bootRamdisk(spec: NodeSpec, error?: string) {
      await eventually(`${spec.name} waiting and powered on`, async () => {
        const [s, node] = await Promise.all([status(spec.uuid), ironic.node(spec.uuid)]);
        return s?.state === 'waiting' && node.power_state === 'power on';
      });
      return postRamdiskData(service.url, buildRamdiskData(spec, error ? { error } : {}));
    }

    async function finished(spec: NodeSpec) {
      return eventually(`${spec.name} finished`, async () => {
        const s = await status(spec.uuid);
        return s?.finished ? s : null;
      });
    }

    const ironicState = (spec: NodeSpec, state: string) =>
      eventually(`${spec.name} ${state} in Ironic`, async () => {
        const node = await ironic.node(spec.uuid);
        return node.provision_state === state ? node : null;
      }).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await ironic.logTail()}`);
      });

    const callsFor = (proxy: RecordingProxy, uuid: string) =>
      proxy.calls.filter((c) => c.path.includes(uuid));

    it('introspects enrolled nodes: properties and ports land in Ironic, nodes end powered off', async () => {
      // A with its two ports enrolled, B with none: B's PXE port must come from the service.
      const [a, b] = [nodeSpec(700), nodeSpec(701)];
      await enrolNode(ironic, a, { macs: a.macs });
      await enrolNode(ironic, b, { macs: [] });

      expect((await api(service, 'POST', `/v1/introspection/${a.uuid}`)).status).toBe(202);
      expect((await api(service, 'POST', `/v1/introspection/${b.name}`)).status).toBe(202);
      for (const spec of [a, b]) {
        expect(await bootRamdisk(spec)).toEqual({ status: 200, body: { uuid: spec.uuid } });
      }
      for (const spec of [a, b]) {
        expect(await finished(spec)).toMatchObject({ state: 'finished', error: null });
        const node = await ironic.node(spec.uuid);
        expect(node.properties).toEqual(PROPERTIES);
        expect(node).toMatchObject({ power_state: 'power off', provision_state: 'manageable' });
      }
      expect((await portsOf(ironic, a.uuid)).map((p) => p.address)).toEqual(a.macs);
      expect(await portsOf(ironic, b.uuid)).toEqual([{ address: b.macs[0], pxe_enabled: true }]);

      // Boot device before power, as upstream does; nothing the service sent was refused
      // (409 is Ironic's node lock, which the client retries).
      const calls = callsFor(toIronic, a.uuid).map((c) => `${c.method} ${c.path} ${c.body}`);
      const bootDevice = calls.findIndex((c) =>
        c.startsWith(`PUT /v1/nodes/${a.uuid}/management/boot_device {"boot_device":"pxe"`),
      );
      const powerOn = calls.findIndex((c) =>
        /states\/power \{"target":"(rebooting|power on)"/.test(c),
      );
      expect(bootDevice).toBeGreaterThanOrEqual(0);
      expect(powerOn).toBeGreaterThan(bootDevice);
      expect(toIronic.calls.filter((c) => c.status >= 400 && c.status !== 409)).toEqual([]);
    });

    it("Ironic's own inspect action drives the service and returns the node to manageable", async () => {
      const c = nodeSpec(702);
      await startIronicInspection(ironic, c);
      expect(await bootRamdisk(c)).toEqual({ status: 200, body: { uuid: c.uuid } });

      const node = await ironicState(c, 'manageable');
      expect(node).toMatchObject({ power_state: 'power off', last_error: null });
      expect(node.properties).toEqual(PROPERTIES);
      expect(node.inspection_finished_at).toEqual(expect.any(String));
      expect(await status(c.uuid)).toMatchObject({ state: 'finished', error: null });
      // Ironic reads the processed data back and stores its inventory just after moving the node on.
      const stored = await eventually(`${c.name} inventory stored`, async () => {
        const res = await ironic.call('GET', `/v1/nodes/${c.uuid}/inventory`);
        return res.status === 200 ? res : null;
      });
      const inventory = stored.body.inventory as { interfaces: { mac_address: string }[] };
      expect(inventory.interfaces.map((i) => i.mac_address)).toEqual(c.macs);

      const calls = callsFor(fromIronic, c.uuid);
      const line = (call: RecordedCall) => `${call.method} ${call.path} ${call.status}`;
      const posts = calls.filter((call) => call.method === 'POST');
      // No manage_boot query: fake-hardware's boot interface cannot boot a ramdisk, so Ironic
      // leaves booting to the service.
      expect(posts.map(line)).toEqual([`POST /v1/introspection/${c.uuid} 202`]);
      const started = posts[0]!;
      const after = calls.filter((call) => call.receivedSeq > started.answeredSeq).map(line);
      expect(after).toContain(`GET /v1/introspection/${c.uuid} 200`);
      expect(after.at(-1)).toBe(`GET /v1/introspection/${c.uuid}/data 200`);
      expect(after.filter((l) => !l.endsWith(' 200'))).toEqual([]);
      // Ironic's status poll may overtake its own start call (it logs and polls again), so
      // before the POST is answered a 404 status is all right.
      const before = calls.filter(
        (call) => call.receivedSeq < started.answeredSeq && call !== started,
      );
      for (const call of before)
        expect(line(call)).toMatch(/^GET \/v1\/introspection\/[-0-9a-f]+ (200|404)$/);
      // keystoneauth's version discovery of the endpoint.
      const discovery = fromIronic.calls.filter((call) => call.path === '/').map(line);
      expect(new Set(discovery)).toEqual(new Set(['GET / 200']));
      expect(started.headers['user-agent']).toMatch(/^ironic /);
    });

    it("Ironic's abort of an inspection aborts the run here", async () => {
      const d = nodeSpec(703);
      await startIronicInspection(ironic, d);
      await eventually(
        `${d.name} waiting`,
        async () => (await status(d.uuid))?.state === 'waiting',
      );

      const abort = await ironic.call('PUT', `/v1/nodes/${d.uuid}/states/provision`, {
        target: 'abort',
      });
      expect(abort.status).toBe(202);
      await ironicState(d, 'inspect failed');
      expect(await finished(d)).toMatchObject({ state: 'error', error: 'Canceled by operator' });
      expect(
        callsFor(fromIronic, d.uuid).map((call) => `${call.method} ${call.path} ${call.status}`),
      ).toContain(`POST /v1/introspection/${d.uuid}/abort 202`);
      await eventually(
        `${d.name} powered off`,
        async () => (await ironic.node(d.uuid)).power_state === 'power off',
      );
    });

    it("a ramdisk error fails Ironic's inspection with the service's error", async () => {
      const e = nodeSpec(704);
      await startIronicInspection(ironic, e);
      const posted = await bootRamdisk(e, 'disk controller on fire');
      expect(posted.status).toBe(400);

      const node = await ironicState(e, 'inspect failed');
      expect(node.last_error).toMatch(
        /^ironic-inspector inspection failed: .*disk controller on fire/,
      );
      expect(await status(e.uuid)).toMatchObject({ state: 'error' });
    });

    it('a node deleted from Ironic mid-run has its run dropped by the clean-up', async () => {
      const f = nodeSpec(705);
      await enrolNode(ironic, f, { macs: f.macs });
      expect((await api(service, 'POST', `/v1/introspection/${f.uuid}`)).status).toBe(202);
      await eventually(
        `${f.name} waiting`,
        async () => (await status(f.uuid))?.state === 'waiting',
      );
      // Counted before the deletion: a clean-up pass may list the nodes as soon as it is done.
      const callsBefore = toIronic.calls.length;
      const deleted = await ironic.call('DELETE', `/v1/nodes/${f.uuid}`);
      expect(deleted.status).toBe(204);

      await eventually(`${f.name} dropped`, async () => {
        const res = await api(service, 'GET', `/v1/introspection/${f.uuid}`);
        return res.status === 404;
      });
      const listing = toIronic.calls
        .slice(callsBefore)
        .filter((c) => c.path.startsWith('/v1/nodes?fields=uuid&'));
      expect(listing.map((c) => c.status)).toContain(200);
      // The nodes of the other cases are still there, and so are their runs.
      expect((await status(nodeSpec(700).uuid))?.state).toBe('finished');
    });

    it('introspection rules change the real node: a capability, an attribute, its traits', async () => {
      const g = nodeSpec(706);
      await enrolNode(ironic, g, { macs: g.macs });
      const rule = {
        conditions: [{ op: 'eq', field: 'memory_mb', value: 16384 }],
        actions: [
          { action: 'set-capability', name: 'boot_mode', value: 'uefi' },
          { action: 'set-attribute', path: '/extra/inspected_by', value: 'rules' },
          { action: 'add-trait', name: 'CUSTOM_INSPECTED' },
          // Ironic answers 404 for a trait the node does not have: nothing to remove.
          { action: 'remove-trait', name: 'CUSTOM_NEVER_THERE' },
        ],
      };
      expect((await api(service, 'POST', '/v1/rules', rule)).status).toBe(201);
      try {
        expect((await api(service, 'POST', `/v1/introspection/${g.uuid}`)).status).toBe(202);
        expect(await bootRamdisk(g)).toEqual({ status: 200, body: { uuid: g.uuid } });
        expect(await finished(g)).toMatchObject({ state: 'finished', error: null });
      } finally {
        expect((await api(service, 'DELETE', '/v1/rules')).status).toBe(204);
      }
      const node = await ironic.node(g.uuid);
      expect(node.properties).toMatchObject({ ...PROPERTIES, capabilities: 'boot_mode:uefi' });
      expect(node.extra).toMatchObject({ inspected_by: 'rules' });
      expect(node.traits).toEqual(['CUSTOM_INSPECTED']);
    });

    it('discovery enrols a machine the real Ironic does not know, and processes it', async () => {
      const m = nodeSpec(707);
      const reply = await postRamdiskData(service.url, buildRamdiskData(m));
      expect(reply.status).toBe(200);
      const uuid = (reply.body as { uuid: string }).uuid;
      const done = await eventually('the discovered node finished', async () => {
        const s = await status(uuid);
        return s?.finished ? s : null;
      });
      expect(done).toMatchObject({ state: 'finished', error: null });
      const node = await ironic.node(uuid);
      expect(node).toMatchObject({
        driver: 'fake-hardware',
        provision_state: 'enroll',
        driver_info: { ipmi_address: m.bmcAddress },
        properties: PROPERTIES,
      });
      expect((await portsOf(ironic, uuid)).map((p) => p.address)).toEqual([m.macs[0]]);
      // Known to Ironic now, by its port: a second callback is refused.
      const again = await postRamdiskData(service.url, buildRamdiskData(m));
      expect(again.status).toBe(400);
      expect(JSON.stringify(again.body)).toContain(`Port ${m.macs[0]} already exists`);
    });
  },
);
