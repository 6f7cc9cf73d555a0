/**
 * The service in an OpenStack cloud's shape: Debian's Ironic behind Debian's
 * Keystone (keystonemiddleware validates every caller's token), and the
 * service's API protected by the same Keystone. The service calls Ironic with
 * a token of its own identity (IRONIC_AUTH_STRATEGY=keystone); Ironic's
 * `inspector` inspect interface calls the service with a token of Ironic's.
 *
 * Runs with REAL_IRONIC=1 and REAL_KEYSTONE=1, which `bash .ci/run` sets
 * after installing both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSpec, type NodeSpec } from '../fixtures/fake-ironic.ts';
import { keystoneToken } from '../fixtures/fake-keystone.ts';
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
import {
  REAL_KEYSTONE_SKIPPED,
  REAL_KEYSTONE_START_MS,
  REAL_KEYSTONE_WANTED,
  startRealKeystone,
  type RealKeystone,
} from './real-keystone.ts';
import { startRecordingProxy, type RecordedCall, type RecordingProxy } from './recording-proxy.ts';
import { startInspector, type RunningService } from './service.ts';

const ENABLED = process.env.REAL_IRONIC === '1' && REAL_KEYSTONE_WANTED;
if (!ENABLED) {
  console.warn(
    process.env.REAL_IRONIC === '1'
      ? REAL_KEYSTONE_SKIPPED
      : 'Ironic-behind-Keystone interop suite NOT run: it needs REAL_IRONIC=1 and REAL_KEYSTONE=1 ' +
          '(`bash .ci/run` installs both and sets them)',
  );
}

const POLL_S = 1;
/** Ironic's conductor, Keystone's uWSGI workers and the service share two busy cores. */
const eventually = <T>(what: string, probe: () => Promise<T | undefined | null | false>) =>
  waitUntil(what, probe, 60_000, 100);
const PROPERTIES = { cpus: '8', cpu_arch: 'x86_64', memory_mb: '16384', local_gb: '99' };
const SERVICE_USER = { username: 'inspector', password: 'inspectorpass', project: 'service' };

describe.skipIf(!ENABLED)(
  'against a real Ironic behind a real Keystone',
  { timeout: 120_000 },
  () => {
    let keystone: RealKeystone;
    let ironic: RealIronic;
    let service: RunningService;
    /** Ironic → service. */
    let fromIronic: RecordingProxy;
    /** Service → Ironic. */
    let toIronic: RecordingProxy;
    let operator: Record<string, string>;

    beforeAll(async () => {
      keystone = await startRealKeystone();
      const [ironicPort, servicePort] = [await freePort(), await freePort()];
      fromIronic = await startRecordingProxy(`http://127.0.0.1:${servicePort}`);
      toIronic = await startRecordingProxy(`http://127.0.0.1:${ironicPort}`);
      const started = await Promise.allSettled([
        startRealIronic({
          port: ironicPort,
          inspectorUrl: fromIronic.url,
          pollS: POLL_S,
          keystoneUrl: keystone.url,
        }).then((i) => (ironic = i)),
        startInspector(
          {
            IRONIC_URL: toIronic.url,
            IRONIC_AUTH_STRATEGY: 'keystone',
            AUTH_STRATEGY: 'keystone',
            KEYSTONE_URL: keystone.url,
            KEYSTONE_USERNAME: SERVICE_USER.username,
            KEYSTONE_PASSWORD: SERVICE_USER.password,
            KEYSTONE_PROJECT: SERVICE_USER.project,
            // The Ironic sync lists the nodes with the service's token too.
            CLEAN_UP_PERIOD_S: '2',
          },
          servicePort,
        ).then((s) => (service = s)),
      ]);
      for (const result of started) if (result.status === 'rejected') throw result.reason;
      operator = { 'X-Auth-Token': await keystoneToken(keystone.url, 'operator', 'operatorpass') };
    }, REAL_KEYSTONE_START_MS + 240_000);

    afterAll(async () => {
      await service?.stop();
      await ironic?.close();
      await keystone?.close();
      await fromIronic?.close();
      await toIronic?.close();
    });

    const status = async (uuid: string) =>
      (await api(service, 'GET', `/v1/introspection/${uuid}`, undefined, operator)).body;

    async function bootRamdisk(spec: NodeSpec) {
      await eventually(`${spec.name} waiting and powered on`, async () => {
        const [s, node] = await Promise.all([status(spec.uuid), ironic.node(spec.uuid)]);
        return s?.state === 'waiting' && node.power_state === 'power on';
      });
      return postRamdiskData(service.url, buildRamdiskData(spec));
    }

    const line = (call: RecordedCall) => `${call.method} ${call.path} ${call.status}`;

    it('Ironic refuses a call without a token, as the cases below rely on', async () => {
      const res = await fetch(`${ironic.url}/v1/nodes`, {
        headers: { 'X-OpenStack-Ironic-API-Version': '1.82' },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Keystone uri="${keystone.url}"`);
    });

    it("introspects a node for an operator's token, calling Ironic with the service's own", async () => {
      const a = nodeSpec(720);
      await enrolNode(ironic, a, { macs: [] });
      const path = `/v1/introspection/${a.uuid}`;
      expect((await api(service, 'POST', path)).status).toBe(401);
      expect((await api(service, 'POST', path, undefined, operator)).status).toBe(202);
      expect(await bootRamdisk(a)).toEqual({ status: 200, body: { uuid: a.uuid } });

      const final = await eventually(`${a.name} finished`, async () => {
        const s = await status(a.uuid);
        return s?.finished ? s : null;
      });
      expect(final).toMatchObject({ state: 'finished', error: null });
      const node = await ironic.node(a.uuid);
      expect(node.properties).toEqual(PROPERTIES);
      expect(node.power_state).toBe('power off');
      expect(await portsOf(ironic, a.uuid)).toEqual([{ address: a.macs[0], pxe_enabled: true }]);

      const calls = toIronic.calls.filter((c) => c.path.includes(a.uuid));
      expect(calls.length).toBeGreaterThanOrEqual(8);
      expect(calls.filter((c) => c.status === 401).map(line)).toEqual([]);
      const tokens = new Set(calls.map((c) => c.headers['x-auth-token']));
      expect(tokens.has(undefined)).toBe(false);
      // The service acts as itself, never passing the caller's token on.
      expect(tokens.has(operator['X-Auth-Token'])).toBe(false);
      const admin = await keystoneToken(keystone.url, 'admin', 'adminpass');
      for (const token of tokens) {
        const res = await fetch(`${keystone.url}/v3/auth/tokens?nocatalog`, {
          headers: { 'X-Auth-Token': admin, 'X-Subject-Token': token! },
        });
        const body = (await res.json()) as { token: { user: { name: string } } };
        expect(body.token.user.name).toBe(SERVICE_USER.username);
      }
    });

    it("Ironic's own inspect action reaches the service with Ironic's token", async () => {
      const b = nodeSpec(721);
      await startIronicInspection(ironic, b);
      expect(await bootRamdisk(b)).toEqual({ status: 200, body: { uuid: b.uuid } });

      const node = await eventually(`${b.name} manageable in Ironic`, async () => {
        const n = await ironic.node(b.uuid);
        return n.provision_state === 'manageable' ? n : null;
      }).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await ironic.logTail()}`);
      });
      expect(node).toMatchObject({ power_state: 'power off', last_error: null });
      expect(node.properties).toEqual(PROPERTIES);

      const calls = fromIronic.calls.filter((c) => c.path.includes(b.uuid));
      expect(calls.map(line)).toContain(`POST /v1/introspection/${b.uuid} 202`);
      expect(calls.filter((c) => !c.headers['x-auth-token']).map(line)).toEqual([]);
      // Ironic's status poll may come before its start is recorded here: 404 until then.
      expect(calls.filter((c) => ![200, 202, 404].includes(c.status)).map(line)).toEqual([]);
    });

    it("a node deleted from Ironic has its run dropped, Ironic listed with the service's token", async () => {
      const d = nodeSpec(723);
      await enrolNode(ironic, d, { macs: d.macs });
      expect(
        (await api(service, 'POST', `/v1/introspection/${d.uuid}`, undefined, operator)).status,
      ).toBe(202);
      await eventually(
        `${d.name} waiting`,
        async () => (await status(d.uuid))?.state === 'waiting',
      );
      // Counted before the deletion: a clean-up pass may list the nodes as soon as it is done.
      const callsBefore = toIronic.calls.length;
      expect((await ironic.call('DELETE', `/v1/nodes/${d.uuid}`)).status).toBe(204);

      await eventually(`${d.name} dropped`, async () => {
        const res = await api(service, 'GET', `/v1/introspection/${d.uuid}`, undefined, operator);
        return res.status === 404;
      });
      const listings = toIronic.calls
        .slice(callsBefore)
        .filter((c) => c.path.startsWith('/v1/nodes?fields=uuid&'));
      expect(listings.map((c) => c.status)).toContain(200);
      expect(listings.filter((c) => !c.headers['x-auth-token']).map(line)).toEqual([]);
      // The other cases' nodes are still in Ironic, and so are their runs.
      expect((await status(nodeSpec(720).uuid))?.state).toBe('finished');
    });

    it('a service left on IRONIC_AUTH_STRATEGY=noauth answers 503 saying what to set', async () => {
      const c = nodeSpec(722);
      await enrolNode(ironic, c, { macs: c.macs });
      const noauth = await startInspector({ IRONIC_URL: ironic.url, IRONIC_RETRY_ATTEMPTS: '1' });
      try {
        const res = await api(noauth, 'POST', `/v1/introspection/${c.uuid}`);
        expect(res.status).toBe(503);
        expect(res.body.error.message).toContain(
          'HTTP 401: The request you have made requires authentication. ' +
            '(IRONIC_AUTH_STRATEGY=keystone sends a token)',
        );
        expect((await api(noauth, 'GET', `/v1/introspection/${c.uuid}`)).status).toBe(404);
      } finally {
        await noauth.stop();
      }
    });
  },
);
