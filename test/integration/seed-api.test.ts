import http from 'node:http';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { waitUntil } from '../helpers/processes.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;
let logsDir: string;

beforeAll(async () => {
  logsDir = await mkdtemp(path.join(tmpdir(), 'ramdisk-logs-'));
  stack = await startStack({ RAMDISK_LOGS_DIR: logsDir }, { nodes: 30 });
});
afterAll(() => stack?.close());
beforeEach(() => {
  stack.onBoot = () => ({});
  stack.ironic.faults.clear();
});

const status = (uuid: string) => api(stack, 'GET', `/v1/introspection/${uuid}`);
const finished = (uuid: string) => finishedStatus(stack, uuid);

describe('POST /v1/introspection/<node> and the whole flow', () => {
  it('introspects a node end to end from IPA inventory data', async () => {
    const spec = nodeSpec(0);
    const started = await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    expect(started.status).toBe(202);
    expect(started.body).toEqual({});
    const final = await finished(spec.uuid);
    expect(final).toMatchObject({
      uuid: spec.uuid,
      state: 'finished',
      finished: true,
      error: null,
    });
    expect(final.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);

    const node = stack.ironic.node(spec.uuid)!;
    expect(node.properties).toMatchObject({
      cpus: '8',
      cpu_arch: 'x86_64',
      memory_mb: '16384',
      local_gb: '99',
    });
    expect(node.power_state).toBe('power off');
    expect(
      stack.ironic
        .portsOf(spec.uuid)
        .map((p) => p.address)
        .sort(),
    ).toEqual([...spec.macs].sort());
    expect(stack.ramdiskReplies.get(spec.uuid)).toEqual({ status: 200, body: { uuid: spec.uuid } });
    const bootCalls = stack.ironic.calls({ method: 'PUT', node: spec.uuid, pathRe: /boot_device/ });
    expect(bootCalls[0]?.body).toEqual({ boot_device: 'pxe', persistent: false });
    // Reads ask Ironic for the fields the service uses, never for whole nodes or detailed ports.
    const reads = stack.ironic
      .calls({ method: 'GET', node: spec.uuid })
      .filter((c) => c.pathname === `/v1/nodes/${spec.uuid}` || c.pathname === '/v1/ports');
    // The node itself is read by the API's checks, by processing and by the power-off read-back;
    // booting through Ironic needs only its UUID.
    expect(reads.filter((c) => c.pathname === `/v1/nodes/${spec.uuid}`)).toHaveLength(3);
    for (const read of reads) {
      expect(read.query.detail).toBeUndefined();
      expect(read.query.fields?.split(',')).toContain(
        read.pathname === '/v1/ports' ? 'address' : 'driver_info',
      );
    }
  });

  it('introspects a node from the seed ramdisk form and creates its PXE port', async () => {
    const spec = nodeSpec(210);
    stack.ironic.addNode({ index: 210, macs: [spec.macs[1]] });
    stack.onBoot = () => ({ form: 'seed' });
    expect((await api(stack, 'POST', `/v1/introspection/${spec.name}`)).status).toBe(202);
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished', error: null });
    expect(
      stack.ironic
        .portsOf(spec.uuid)
        .map((p) => p.address)
        .sort(),
    ).toEqual([...spec.macs].sort());
    const created = stack.ironic.portsOf(spec.uuid).find((p) => p.address === spec.macs[0]);
    expect(created?.pxe_enabled).toBe(true);
  });

  it('leaves PXE on for the NIC the ramdisk booted from alone, as upstream does', async () => {
    const spec = nodeSpec(212);
    // Enrolled by hand: Ironic's default turns PXE on for every port.
    stack.ironic.addNode({ index: 212, macs: [] });
    for (const mac of spec.macs) stack.ironic.addPort(spec.uuid, mac, true);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished', error: null });
    const pxe = Object.fromEntries(
      stack.ironic.portsOf(spec.uuid).map((p) => [p.address, p.pxe_enabled]),
    );
    // The ramdisk boots from the first NIC.
    expect(pxe).toEqual({ [spec.macs[0]!]: true, [spec.macs[1]!]: false });
  });

  it('introspects a node whose UUID is not RFC 4122, as SMBIOS-derived ids often are', async () => {
    // Version nibble 0 and variant nibble 0: a UUID to Ironic, not to a strict RFC 4122 check.
    const uuid = '00000000-0000-0000-0000-ac1f6b123456';
    stack.ironic.addNode({ index: 211, uuid });
    const started = await api(stack, 'POST', `/v1/introspection/${uuid.toUpperCase()}`);
    expect(started).toMatchObject({ status: 202, body: {} });
    expect(await finished(uuid)).toMatchObject({ uuid, state: 'finished', error: null });
    expect(stack.ironic.node(uuid)!.properties).toMatchObject({ cpus: '8' });
  });

  it('stores processed and unprocessed data', async () => {
    const spec = nodeSpec(2);
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await finished(spec.uuid);
    const raw = await api(stack, 'GET', `/v1/introspection/${spec.uuid}/data/unprocessed`);
    expect(raw.status).toBe(200);
    expect(raw.body.inventory.cpu.count).toBe(8);
    expect(raw.body.logs).toBeUndefined();
    const processed = await api(stack, 'GET', `/v1/introspection/${spec.uuid}/data`);
    expect(processed.body).toMatchObject({
      cpus: 8,
      macs: [spec.macs[0]],
      ipmi_address: spec.bmcAddress,
    });
  });

  it('answers 404 for a node Ironic does not know, and stores nothing', async () => {
    const unknown = '5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716';
    const res = await api(stack, 'POST', `/v1/introspection/${unknown}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { message: `Node ${unknown} was not found in Ironic` } });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await status(unknown)).status).toBe(404);
  });

  it('answers 400 for an identifier that is neither a UUID nor a name', async () => {
    const res = await api(stack, 'POST', `/v1/introspection/${encodeURIComponent('bad node!')}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('Invalid UUID or node name');
    expect(
      (await api(stack, 'GET', `/v1/introspection/${encodeURIComponent('bad node!')}`)).status,
    ).toBe(400);
  });

  it('answers 400 for `.` and `..`, names Ironic allows that no URL can carry', async () => {
    // Sent as they are: fetch, as any WHATWG URL parser, would resolve the dot segments first.
    const raw = (method: string, path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { port } = new URL(stack.url);
        const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const [ident, shown] of [
      ['%2e%2e', '..'],
      ['..', '..'],
      ['%2E', '.'],
    ]) {
      for (const [method, path] of [
        ['POST', `/v1/introspection/${ident}`],
        ['GET', `/v1/introspection/${ident}`],
        ['POST', `/v1/introspection/${ident}/abort`],
        ['GET', `/v1/introspection/${ident}/data`],
      ] as const) {
        const res = await raw(method, path);
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 400 });
        expect(JSON.parse(res.body).error.message).toBe(`Invalid UUID or node name: "${shown}"`);
      }
    }
  });

  it('answers 400 for a node in a provision state that forbids introspection', async () => {
    const node = stack.ironic.addNode({ index: 200, provisionState: 'active' });
    const res = await api(stack, 'POST', `/v1/introspection/${node.uuid}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('Invalid provision state for introspection: "active"');
    expect(stack.ironic.calls({ method: 'PUT', node: node.uuid })).toEqual([]);
  });

  it("answers 400 with Ironic's reason when power validation fails", async () => {
    const node = stack.ironic.addNode({ index: 201, failValidation: 'no BMC password' });
    const res = await api(stack, 'POST', `/v1/introspection/${node.uuid}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(
      `Failed validation of power interface for node ${node.uuid}`,
    );
    expect(res.body.error.message).toContain('no BMC password');
    expect((await status(node.uuid)).status).toBe(404);
  });

  it('answers 400 for a node with neither ports nor a BMC address', async () => {
    const node = stack.ironic.addNode({ index: 202, macs: [], driverInfo: {} });
    const res = await api(stack, 'POST', `/v1/introspection/${node.uuid}?manage_boot=false`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('No lookup attributes were found');
  });

  it('retries Ironic answering 409 (node locked) and 503, then goes on', async () => {
    const spec = nodeSpec(3);
    stack.ironic.faults.add({ node: spec.uuid, path: /boot_device/, status: 409, times: 2 });
    stack.ironic.faults.add({ node: spec.uuid, path: /states\/power/, status: 503, times: 1 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished', error: null });
  });

  it('ends the run with an error naming the node and cause when the power-on keeps failing', async () => {
    const spec = nodeSpec(4);
    stack.ironic.faults.add({ node: spec.uuid, path: /states\/power/, status: 500 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const final = await finished(spec.uuid);
    expect(final.state).toBe('error');
    expect(final.error).toContain(`Failed to power on node ${spec.uuid}`);
    expect(final.error).toContain('HTTP 500');
  });

  it('a boot job run again for a waiting node sets PXE again before it reboots', async () => {
    const spec = nodeSpec(14);
    stack.onBoot = () => null;
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const record = await waitUntil('waiting', async () => {
      const r = await stack.store.get(spec.uuid);
      return r?.state === 'waiting' && stack.ironic.node(spec.uuid)!.power_state === 'power on'
        ? r
        : null;
    });
    stack.ironic.clearCalls();
    // What a worker that died after the first boot leaves behind: the same job, once more.
    const job = { node: spec.uuid, gen: record.gen, reqId: 'again' };
    await stack.worker.queues.add('introspect', job, { jobId: `again-${spec.uuid}` });
    const calls = await waitUntil('the second boot', async () => {
      const c = stack.ironic.calls({ method: 'PUT', node: spec.uuid });
      return c.some((x) => x.pathname.endsWith('/states/power')) ? c : null;
    });
    expect(calls.map((c) => c.pathname.split('/').pop())).toEqual(['boot_device', 'power']);
    expect(calls[0]!.body).toEqual({ boot_device: 'pxe', persistent: false });
  });

  it('a job BullMQ fails for good outside its processor ends its run at once', async () => {
    const spec = nodeSpec(15);
    stack.onBoot = () => null;
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const record = await waitUntil('waiting', async () => {
      const r = await stack.store.get(spec.uuid);
      return r?.state === 'waiting' ? r : null;
    });
    // A job no processor knows (one a newer release queued during a rolling upgrade, say).
    await stack.worker.queues.byName.introspection.add('bogus', {
      node: spec.uuid,
      gen: record.gen,
      reqId: 'r',
    });
    expect(await finished(spec.uuid)).toMatchObject({
      state: 'error',
      error: 'Job bogus failed: No processor for job bogus',
    });
  });

  it('an abort during the power-on powers the node off after it, not before', async () => {
    const spec = nodeSpec(16);
    stack.onBoot = () => null;
    const power = { node: spec.uuid, method: 'PUT', path: /states\/power$/ };
    stack.ironic.faults.add({ ...power, delayMs: 1000, times: 1 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await waitUntil('the power-on in flight', async () => {
      const calls = stack.ironic.calls({ node: spec.uuid, method: 'PUT', pathRe: /states\/power/ });
      return calls.length === 1 && calls[0]!.status === 0 ? true : null;
    });
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}/abort`)).status).toBe(202);
    expect(await finished(spec.uuid)).toMatchObject({
      state: 'error',
      error: 'Canceled by operator',
    });
    const calls = await waitUntil('every power call answered', async () => {
      const c = stack.ironic.calls({ node: spec.uuid, method: 'PUT', pathRe: /states\/power/ });
      return c.length === 2 && c.every((x) => x.status !== 0) ? c : null;
    });
    const targets = calls.map((c) => (c.body as { target: string }).target);
    expect(targets).toEqual(['rebooting', 'power off']);
    expect(stack.ironic.node(spec.uuid)!.power_state).toBe('power off');
  });

  it('restarting a waiting node starts a new run and the old run cannot finish it', async () => {
    const spec = nodeSpec(5);
    stack.onBoot = () => null;
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await waitUntil('waiting', async () => (await status(spec.uuid)).body.state === 'waiting');
    const first = await stack.store.get(spec.uuid);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await waitUntil(
      'waiting again',
      async () => (await status(spec.uuid)).body.state === 'waiting',
    );
    const second = await stack.store.get(spec.uuid);
    expect(second!.gen).toBeGreaterThan(first!.gen);
    expect(await stack.store.transition(spec.uuid, first!.gen, 'process')).toMatchObject({
      ok: false,
      reason: 'stale',
    });
    const reply = await postRamdiskData(stack.url, buildRamdiskData(spec));
    expect(reply.status).toBe(200);
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished' });
  });
});

describe('POST /v1/continue', () => {
  it('answers 400 for invalid JSON and for a body that is not an object', async () => {
    const invalid = await api(stack, 'POST', '/v1/continue', '{"inventory": [1, 2');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain('Invalid JSON');
    const list = await api(stack, 'POST', '/v1/continue', [1, 2]);
    expect(list).toMatchObject({
      status: 400,
      body: { error: { message: 'Invalid data: expected a JSON object, got list' } },
    });
  });

  it('answers 400 naming the field that fails validation', async () => {
    const res = await api(stack, 'POST', '/v1/continue', {
      inventory: { cpu: { count: 'eight' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('inventory.cpu.count');
  });

  it('answers 404 when no node matches', async () => {
    const res = await api(stack, 'POST', '/v1/continue', buildRamdiskData(nodeSpec(999)));
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('Could not find a node for attributes');
  });

  it('answers 400 listing every failure when the data is bad and no node matches', async () => {
    const res = await api(stack, 'POST', '/v1/continue', {});
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(
      /^The following failures happened during running pre-processing hooks:\n/,
    );
    expect(res.body.error.message).toContain('Look up error');
  });

  it('answers 404 when the data matches several nodes equally', async () => {
    const a = nodeSpec(6);
    const b = nodeSpec(7);
    stack.onBoot = () => null;
    await api(stack, 'POST', `/v1/introspection/${a.uuid}`);
    await api(stack, 'POST', `/v1/introspection/${b.uuid}`);
    await waitUntil(
      'both waiting',
      async () =>
        (await status(a.uuid)).body.state === 'waiting' &&
        (await status(b.uuid)).body.state === 'waiting',
    );
    const mixed = buildRamdiskData({ index: 6, macs: [b.macs[0]], bmcAddress: a.bmcAddress });
    const res = await api(stack, 'POST', '/v1/continue', mixed);
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('Multiple nodes match');
    expect((await status(a.uuid)).body.state).toBe('waiting');
  });

  it('answers 403 for a known node that is not waiting for data', async () => {
    const spec = nodeSpec(8);
    stack.onBoot = () => null;
    stack.ironic.faults.add({ node: spec.uuid, method: 'PATCH', delayMs: 1500 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await waitUntil('waiting', async () => (await status(spec.uuid)).body.state === 'waiting');
    const data = buildRamdiskData(spec);
    expect((await postRamdiskData(stack.url, data)).status).toBe(200);
    const again = await postRamdiskData(stack.url, data);
    expect(again.status).toBe(403);
    expect(JSON.stringify(again.body)).toContain("state 'processing'");
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished' });
  });

  it('a ramdisk error ends the waiting run in error, answers 400 and stores the logs', async () => {
    const spec = nodeSpec(9);
    stack.onBoot = () => ({ error: 'disk on fire', logs: 'journal: disk on fire' });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const final = await finished(spec.uuid);
    expect(final.state).toBe('error');
    expect(final.error).toBe(
      'Preprocessing hook ramdisk_error: Ramdisk reported error: disk on fire',
    );
    const reply = stack.ramdiskReplies.get(spec.uuid)!;
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body)).toContain('disk on fire');
    const file = await waitUntil('log file', async () =>
      (await readdir(logsDir)).find((f) => f.startsWith(spec.uuid)),
    );
    expect(file).toMatch(/\.tar\.gz$/);
    expect(await readFile(path.join(logsDir, file), 'utf8')).toBe('journal: disk on fire');
  });
});

describe('ramdisk logs', () => {
  const logFile = (uuid: string) =>
    waitUntil('log file', async () => (await readdir(logsDir)).find((f) => f.startsWith(uuid)));

  it('are written out when processing fails, and leave Redis', async () => {
    const spec = nodeSpec(12);
    stack.onBoot = () => ({ logs: 'journal: patch refused' });
    stack.ironic.faults.add({ node: spec.uuid, method: 'PATCH', status: 400 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    expect(await finished(spec.uuid)).toMatchObject({ state: 'error' });
    const file = await logFile(spec.uuid);
    expect(await readFile(path.join(logsDir, file), 'utf8')).toBe('journal: patch refused');
    // Written out (or not) and dropped a Redis round trip after the run ends.
    await waitUntil('the logs out of Redis', async () =>
      (await stack.store.getLogs(spec.uuid)) === null ? true : null,
    );
  });

  it('are written out when the run times out during processing', async () => {
    const spec = nodeSpec(17);
    stack.onBoot = () => ({ logs: 'journal: slow ironic' });
    // Processing held at Ironic's PATCH while the run's timeout fires.
    stack.ironic.faults.add({ node: spec.uuid, method: 'PATCH', delayMs: 2000, times: 1 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const record = await waitUntil('processing', async () => {
      const r = await stack.store.get(spec.uuid);
      return r?.state === 'processing' ? r : null;
    });
    const job = { node: spec.uuid, gen: record.gen, reqId: 'r' };
    await stack.worker.queues.add('timeout', job, { jobId: `now-${spec.uuid}` });
    expect(await finished(spec.uuid)).toMatchObject({
      state: 'error',
      error: 'Introspection timeout',
    });
    const file = await logFile(spec.uuid);
    expect(await readFile(path.join(logsDir, file), 'utf8')).toBe('journal: slow ironic');
  });

  it('of a finished run leave Redis without a file', async () => {
    const spec = nodeSpec(13);
    stack.onBoot = () => ({ logs: 'journal: all good' });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished' });
    // Written out (or not) and dropped a Redis round trip after the run ends.
    await waitUntil('the logs out of Redis', async () =>
      (await stack.store.getLogs(spec.uuid)) === null ? true : null,
    );
    expect((await readdir(logsDir)).filter((f) => f.startsWith(spec.uuid))).toEqual([]);
  });
});

describe('errors everywhere are JSON', () => {
  it('unknown routes, unknown versions and wrong methods', async () => {
    const unknown = await api(stack, 'GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/not found/i);
    expect((await api(stack, 'GET', '/v2')).body).toEqual({
      error: { message: 'Version v2 not found.' },
    });
    const wrong = await api(stack, 'DELETE', `/v1/introspection/${nodeSpec(0).uuid}`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toContain('GET');
    expect(wrong.body.error.message).toBeTruthy();
  });

  it('GET status of a node never introspected is 404', async () => {
    const res = await status(nodeSpec(20).uuid);
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe(`Could not find node ${nodeSpec(20).uuid} in cache`);
  });
});
