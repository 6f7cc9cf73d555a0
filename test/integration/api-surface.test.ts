import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { waitUntil } from '../helpers/processes.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({}, { nodes: 40 });
});
afterAll(() => stack?.close());
beforeEach(() => {
  stack.onBoot = () => ({});
  stack.ironic.faults.clear();
});

const status = async (node: string) => (await api(stack, 'GET', `/v1/introspection/${node}`)).body;
const inState = (node: string, state: string) =>
  waitUntil(`${node} in ${state}`, async () => (await status(node))?.state === state);
const finished = (node: string) => finishedStatus(stack, node);

describe('discovery and versions', () => {
  it('GET / and GET /v1 describe the API with absolute links', async () => {
    const root = await api(stack, 'GET', '/');
    expect(root.body.versions[0]).toMatchObject({ id: '1.18', status: 'CURRENT' });
    expect(root.body.versions[0].links[0].href).toBe(`${stack.url}/v1`);
    const v1 = await api(stack, 'GET', '/v1');
    expect(v1.body.resources.map((r: { name: string }) => r.name)).toEqual([
      'continue',
      'introspection',
      'rules',
    ]);
  });

  it('links name the scheme, host and path prefix a proxy says the caller used', async () => {
    const proxied = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'inspector.example.org' };
    const root = await api(stack, 'GET', '/', undefined, proxied);
    expect(root.body.versions[0].links[0].href).toBe('https://inspector.example.org/v1');
    const v1 = await api(stack, 'GET', '/v1', undefined, proxied);
    expect(v1.body.resources[1].links[0].href).toBe(
      'https://inspector.example.org/v1/introspection',
    );
    const spec = nodeSpec(37);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    const status = await api(stack, 'GET', `/v1/introspection/${spec.uuid}`, undefined, proxied);
    expect(status.body.links[0].href).toBe(
      `https://inspector.example.org/v1/introspection/${spec.uuid}`,
    );

    // Mounted under a path, as upstream's proxy middleware reads SCRIPT_NAME.
    const mounted = { ...proxied, 'X-Forwarded-Prefix': '/baremetal-introspection/' };
    const base = 'https://inspector.example.org/baremetal-introspection';
    const under = await api(stack, 'GET', '/', undefined, mounted);
    expect(under.body.versions[0].links[0].href).toBe(`${base}/v1`);
    const listed = await api(stack, 'GET', '/v1/introspection', undefined, mounted);
    expect(
      listed.body.introspection.map((s: { links: { href: string }[] }) => s.links[0]!.href),
    ).toContain(`${base}/v1/introspection/${spec.uuid}`);

    // TRUST_PROXY_HEADERS=false: the headers are the caller's words, and ignored.
    const direct = await startStack({ TRUST_PROXY_HEADERS: 'false' }, { nodes: 0 });
    try {
      const res = await api(direct, 'GET', '/', undefined, mounted);
      expect(res.body.versions[0].links[0].href).toBe(`${direct.url}/v1`);
    } finally {
      await direct.close();
    }
  });

  it.each([
    [undefined, 200, '1.18'],
    ['latest', 200, '1.18'],
    ['1.5', 200, '1.5'],
    ['1.19', 406, null],
    ['0.9', 406, null],
    ['one', 400, null],
  ])('version header %s answers %i', async (requested, code, echoed) => {
    const headers: Record<string, string> = requested
      ? { 'X-OpenStack-Ironic-Inspector-API-Version': requested }
      : {};
    const res = await api(stack, 'GET', '/', undefined, headers);
    expect(res.status).toBe(code);
    expect(res.headers.get('x-openstack-ironic-inspector-api-minimum-version')).toBe('1.0');
    expect(res.headers.get('x-openstack-ironic-inspector-api-maximum-version')).toBe('1.18');
    if (echoed) expect(res.headers.get('x-openstack-ironic-inspector-api-version')).toBe(echoed);
    else expect(res.body.error.message).toBeTruthy();
  });

  it('reads the standard OpenStack-API-Version header too', async () => {
    const res = await api(stack, 'GET', '/', undefined, {
      'OpenStack-API-Version': 'baremetal-introspection 1.99',
    });
    expect(res.status).toBe(406);
  });
});

describe('nodes by name, list, abort', () => {
  it('starts, reads and aborts a node by its Ironic name', async () => {
    const spec = nodeSpec(0);
    stack.onBoot = () => null;
    expect((await api(stack, 'POST', `/v1/introspection/${spec.name}`)).status).toBe(202);
    await inState(spec.name, 'waiting');
    expect((await status(spec.name)).uuid).toBe(spec.uuid);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.name}/abort`)).status).toBe(202);
    const final = await finished(spec.uuid);
    expect(final).toMatchObject({ state: 'error', error: 'Canceled by operator' });
    expect(stack.ironic.node(spec.uuid)!.power_state).toBe('power off');
    // The aborted node's late callback finds nothing: its lookup entries are gone.
    expect((await postRamdiskData(stack.url, buildRamdiskData(spec))).status).toBe(404);
    const again = await api(stack, 'POST', `/v1/introspection/${spec.uuid}/abort`);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain("state 'error'");
  });

  it('answers 404 to abort a node never introspected, and to an unknown name', async () => {
    expect((await api(stack, 'POST', `/v1/introspection/${nodeSpec(39).uuid}/abort`)).status).toBe(
      404,
    );
    expect((await api(stack, 'GET', '/v1/introspection/no-such-node')).status).toBe(404);
  });

  it('lists newest first, pages with marker and limit, filters by state', async () => {
    const specs = [1, 2, 3].map((i) => nodeSpec(i));
    for (const s of specs) {
      await api(stack, 'POST', `/v1/introspection/${s.uuid}`);
      await finished(s.uuid);
    }
    const page = await api(stack, 'GET', '/v1/introspection?limit=2');
    expect(page.body.introspection.map((s: { uuid: string }) => s.uuid)).toEqual([
      specs[2]!.uuid,
      specs[1]!.uuid,
    ]);
    const next = await api(stack, 'GET', `/v1/introspection?limit=2&marker=${specs[1]!.uuid}`);
    expect(next.body.introspection[0].uuid).toBe(specs[0]!.uuid);
    const failed = nodeSpec(4);
    stack.onBoot = () => ({ error: 'disk on fire' });
    await api(stack, 'POST', `/v1/introspection/${failed.uuid}`);
    await finished(failed.uuid);
    const errors = await api(stack, 'GET', '/v1/introspection?state=error');
    expect(errors.body.introspection.map((s: { uuid: string }) => s.uuid)).toContain(failed.uuid);
    expect(errors.body.introspection.every((s: { state: string }) => s.state === 'error')).toBe(
      true,
    );
    const both = await api(stack, 'GET', '/v1/introspection?state=finished,error&limit=1000');
    expect(both.body.introspection.length).toBeGreaterThanOrEqual(4);
  });

  it.each([
    ['limit=abc', 400, 'Limit must be an integer'],
    ['limit=-1', 400, 'Limit cannot be negative'],
    ['limit=1001', 400, 'Limit over 1000'],
    ['marker=nope', 400, 'Marker not UUID-like'],
    ['state=foo', 400, 'State(s) "foo" are not valid'],
    [`marker=${'1c0ffee0-fa4e-4000-8000-00000000ffff'}`, 404, 'marker'],
  ])('list with %s answers %i', async (query, code, message) => {
    const res = await api(stack, 'GET', `/v1/introspection?${query}`);
    expect(res.status).toBe(code);
    expect(res.body.error.message).toContain(message);
  });

  it('quotes no more than 100 characters of a bad state back', async () => {
    const res = await api(stack, 'GET', `/v1/introspection?state=${'x'.repeat(8000)}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(
      `Bad request: State(s) "${'x'.repeat(100)}…" are not valid`,
    );
  });
});

describe('manage_boot and the state machine', () => {
  it('manage_boot=false makes no boot or power call, before or after processing', async () => {
    const spec = nodeSpec(5);
    expect(
      (await api(stack, 'POST', `/v1/introspection/${spec.uuid}?manage_boot=false`)).status,
    ).toBe(202);
    await inState(spec.uuid, 'waiting');
    expect((await postRamdiskData(stack.url, buildRamdiskData(spec))).status).toBe(200);
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished', error: null });
    expect(stack.ironic.calls({ method: 'PUT', node: spec.uuid })).toEqual([]);
  });

  it('refuses a malformed manage_boot', async () => {
    const res = await api(stack, 'POST', `/v1/introspection/${nodeSpec(6).uuid}?manage_boot=maybe`);
    expect(res).toMatchObject({
      status: 400,
      body: { error: { message: 'Invalid boolean value for manage_boot: maybe' } },
    });
  });

  it('refuses to restart a node while it is processing (409 naming the state)', async () => {
    const spec = nodeSpec(7);
    stack.onBoot = () => null;
    stack.ironic.faults.add({ node: spec.uuid, method: 'PATCH', delayMs: 1500 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await inState(spec.uuid, 'waiting');
    await postRamdiskData(stack.url, buildRamdiskData(spec));
    const res = await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe(
      "Can not transition from state 'processing' on event 'start' (no defined transition)",
    );
    await finished(spec.uuid);
  });
});

describe('introspection data and reapply', () => {
  it('reapplies stored data, or a posted body, without booting the node', async () => {
    const spec = nodeSpec(8);
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    const first = await finished(spec.uuid);
    const putsBefore = stack.ironic.calls({ method: 'PUT', node: spec.uuid }).length;

    expect(
      (await api(stack, 'POST', `/v1/introspection/${spec.uuid}/data/unprocessed`)).status,
    ).toBe(202);
    const second = await waitUntil('reapplied', async () => {
      const s = await status(spec.uuid);
      return s.finished && s.started_at !== first.started_at ? s : null;
    });
    expect(second).toMatchObject({ state: 'finished', error: null });

    const body = buildRamdiskData(spec, { cpus: 42 });
    expect(
      (await api(stack, 'POST', `/v1/introspection/${spec.uuid}/data/unprocessed`, body)).status,
    ).toBe(202);
    await waitUntil('cpus 42', async () => stack.ironic.node(spec.uuid)!.properties.cpus === '42');
    await finished(spec.uuid);
    const processed = await api(stack, 'GET', `/v1/introspection/${spec.uuid}/data`);
    expect(processed.body.cpus).toBe(42);
    expect(stack.ironic.calls({ method: 'PUT', node: spec.uuid })).toHaveLength(putsBefore);
  });

  it('reapplies to a node deployed meanwhile', async () => {
    const spec = nodeSpec(10);
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await finished(spec.uuid);
    stack.ironic.node(spec.uuid)!.provision_state = 'active';
    const body = buildRamdiskData(spec, { cpus: 43 });
    expect(
      (await api(stack, 'POST', `/v1/introspection/${spec.uuid}/data/unprocessed`, body)).status,
    ).toBe(202);
    await waitUntil('cpus 43', async () => stack.ironic.node(spec.uuid)!.properties.cpus === '43');
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished', error: null });
  });

  it('refuses a reapply body that is not valid ramdisk data, and a node not finished', async () => {
    const spec = nodeSpec(9);
    stack.onBoot = () => null;
    const bad = await api(
      stack,
      'POST',
      `/v1/introspection/${spec.uuid}/data/unprocessed`,
      '"foo"',
    );
    expect(bad.status).toBe(404);
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await inState(spec.uuid, 'waiting');
    const notObject = await api(
      stack,
      'POST',
      `/v1/introspection/${spec.uuid}/data/unprocessed`,
      '"foo"',
    );
    expect(notObject).toMatchObject({
      status: 400,
      body: { error: { message: 'Invalid data: expected a JSON object, got string' } },
    });
    const waiting = await api(
      stack,
      'POST',
      `/v1/introspection/${spec.uuid}/data/unprocessed`,
      buildRamdiskData(spec),
    );
    expect(waiting.status).toBe(409);
    expect(waiting.body.error.message).toContain("state 'waiting'");
    // Without a body as well: no stored data would let a waiting run reapply.
    const bare = await api(stack, 'POST', `/v1/introspection/${spec.uuid}/data/unprocessed`);
    expect(bare.status).toBe(409);
    expect(bare.body.error.message).toContain("state 'waiting'");
  });

  it('answers 404 for data of a node that has none', async () => {
    const res = await api(stack, 'GET', `/v1/introspection/${nodeSpec(38).uuid}/data`);
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('processed=True');
  });
});
