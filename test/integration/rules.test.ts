import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RuleListSchema, RuleViewSchema } from '../../apps/api/src/ops/openapi.ts';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

/**
 * Introspection rules (API 1.2): created, listed and deleted through the API,
 * then applied by the workers to every processing and reapply, against the
 * fake Ironic's node, its capabilities and its traits.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({}, { nodes: 0 });
});
afterEach(async () => {
  expect((await api(stack, 'DELETE', '/v1/rules')).status).toBe(204);
});
afterAll(() => stack?.close());

const RULE_UUID = '7a3c1f0e-2b4d-4e6f-8a9b-0c1d2e3f4a5b';
const setExtra = (key: string, value: unknown) => ({
  action: 'set-attribute',
  path: `/extra/${key}`,
  value,
});

/** Enrols node `index` (with `properties`, if given) and introspects it to the end. */
async function introspect(index: number, properties?: Record<string, unknown>) {
  const { uuid } = stack.ironic.addNode({ index, ...(properties ? { properties } : {}) });
  expect((await api(stack, 'POST', `/v1/introspection/${uuid}`)).status).toBe(202);
  return finishedStatus(stack, uuid);
}

describe('the rules API', () => {
  it('creates, shows, lists and deletes rules, with upstream status codes', async () => {
    const created = await api(stack, 'POST', '/v1/rules', {
      uuid: RULE_UUID,
      description: 'big machines',
      conditions: [{ op: 'ge', field: 'memory_mb', value: 1024 }],
      actions: [setExtra('big', true)],
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      uuid: RULE_UUID,
      description: 'big machines',
      scope: null,
      // Defaults are filled in and echoed, as upstream does since 1.11.
      conditions: [{ op: 'ge', field: 'memory_mb', value: 1024, multiple: 'any', invert: false }],
      actions: [setExtra('big', true)],
      links: [{ href: `/v1/rules/${RULE_UUID}`, rel: 'self' }],
    });
    expect((await api(stack, 'GET', `/v1/rules/${RULE_UUID}`)).body).toEqual(created.body);
    // The OpenAPI document describes what the routes answer.
    expect(RuleViewSchema.parse(created.body)).toEqual(created.body);

    // Before 1.6, creation answered 200; without a UUID, one is made.
    const old = await api(
      stack,
      'POST',
      '/v1/rules',
      { actions: [{ action: 'fail', message: 'no' }] },
      { 'X-OpenStack-Ironic-Inspector-API-Version': '1.5' },
    );
    expect(old.status).toBe(200);
    expect(old.body.uuid).toMatch(/^[0-9a-f-]{36}$/);

    const listed = await api(stack, 'GET', '/v1/rules');
    expect(RuleListSchema.parse(listed.body)).toEqual(listed.body);
    expect(listed.body.rules).toEqual([
      {
        uuid: RULE_UUID,
        description: 'big machines',
        scope: null,
        links: [{ href: `/v1/rules/${RULE_UUID}`, rel: 'self' }],
      },
      expect.objectContaining({ uuid: old.body.uuid, description: null }),
    ]);

    const again = await api(stack, 'POST', '/v1/rules', {
      uuid: RULE_UUID,
      actions: [setExtra('x', 1)],
    });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe(`Rule with UUID ${RULE_UUID} already exists`);

    const deleted = await fetch(`${stack.url}/v1/rules/${RULE_UUID}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    const gone = await api(stack, 'GET', `/v1/rules/${RULE_UUID}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toBe(`Rule ${RULE_UUID} was not found`);
    expect((await api(stack, 'DELETE', `/v1/rules/${RULE_UUID}`)).status).toBe(404);

    expect((await api(stack, 'DELETE', '/v1/rules')).status).toBe(204);
    expect((await api(stack, 'GET', '/v1/rules')).body).toEqual({ rules: [] });
  });

  it.each([
    [{ uuid: 'nope', actions: [setExtra('a', 1)] }, 'Invalid UUID value'],
    [{ actions: [] }, 'Validation failed for actions'],
    [{ actions: [{ action: 'explode' }] }, 'Validation failed for actions'],
    [{ actions: [{ action: 'fail' }] }, 'missing required parameter(s): message'],
    [
      { conditions: [{ op: 'eq', field: 'memory_mb' }], actions: [setExtra('a', 1)] },
      'Invalid parameters for operator eq: missing required parameter(s): value',
    ],
    [
      { conditions: [{ op: 'eq', field: 'ftp://x', value: 1 }], actions: [setExtra('a', 1)] },
      'Unsupported scheme for field: ftp',
    ],
    [{ conditions: [{ op: 'almost', field: 'x' }], actions: [setExtra('a', 1)] }, 'conditions'],
    ['[1, 2]', 'expected a JSON object'],
  ])('refuses a bad rule with a 400 naming the fault: %j', async (body, message) => {
    const res = await api(stack, 'POST', '/v1/rules', body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(message);
    expect((await api(stack, 'GET', '/v1/rules')).body).toEqual({ rules: [] });
  });
});

describe('rules applied by processing', () => {
  it('run the actions of every rule whose conditions hold, and only those', async () => {
    const spec = nodeSpec(0);
    const rules = [
      {
        description: "upstream's own test rule",
        conditions: [
          { op: 'eq', field: 'memory_mb', value: 16384 },
          { op: 'ge', field: 'cpus', value: 8 },
          { op: 'matches', field: 'local_gb', value: '[0-9]+' },
          {
            op: 'contains',
            field: 'inventory.interfaces[*].ipv4_address',
            value: '127\\.0\\.0\\.1',
            invert: true,
            multiple: 'all',
          },
          { op: 'is-empty', field: 'i.do.not.exist' },
          { op: 'eq', field: 'node://driver_info.ipmi_address', value: spec.bmcAddress },
          // A field the service does not read for itself: rules see the whole node.
          { op: 'is-empty', field: 'node://created_at', invert: true },
        ],
        actions: [
          setExtra('foo', 'bar'),
          setExtra('bmc', '{data[inventory][bmc_address]}'),
          { action: 'set-capability', name: 'gpu', value: 'none' },
          { action: 'extend-attribute', path: 'extra/tags', value: 'inspected', unique: true },
          { action: 'add-trait', name: 'CUSTOM_INSPECTED' },
        ],
      },
      {
        description: 'does not apply: not that much memory',
        conditions: [{ op: 'ge', field: 'memory_mb', value: 100500 }],
        actions: [{ action: 'fail', message: 'too big' }],
      },
      {
        description: 'does not apply: another scope',
        scope: 'elsewhere',
        actions: [setExtra('scoped', true)],
      },
    ];
    for (const rule of rules)
      expect((await api(stack, 'POST', '/v1/rules', rule)).status).toBe(201);

    expect(await introspect(0)).toMatchObject({ state: 'finished', error: null });
    const node = stack.ironic.node(spec.uuid)!;
    expect(node.extra).toMatchObject({ foo: 'bar', bmc: spec.bmcAddress, tags: ['inspected'] });
    expect(node.extra.scoped).toBeUndefined();
    expect(String(node.properties.capabilities).split(',')).toContain('gpu:none');
    expect(node.traits).toEqual(['CUSTOM_INSPECTED']);

    // A reapply runs them again: `unique` keeps the tag once.
    expect(
      (await api(stack, 'POST', `/v1/introspection/${spec.uuid}/data/unprocessed`)).status,
    ).toBe(202);
    expect(await finishedStatus(stack, spec.uuid)).toMatchObject({ state: 'finished' });
    expect(stack.ironic.node(spec.uuid)!.extra.tags).toEqual(['inspected']);
  });

  it('apply in a scope to the nodes of that scope', async () => {
    const spec = nodeSpec(1);
    const rule = { scope: 'rack-7', actions: [setExtra('rack', 7)] };
    expect((await api(stack, 'POST', '/v1/rules', rule)).status).toBe(201);
    expect(await introspect(1, { inspection_scope: 'rack-7' })).toMatchObject({
      state: 'finished',
      error: null,
    });
    expect(stack.ironic.node(spec.uuid)!.extra.rack).toBe(7);
  });

  it('a fail action ends the run in error with its message, the data kept', async () => {
    const spec = nodeSpec(2);
    const rule = {
      conditions: [{ op: 'lt', field: 'memory_mb', value: 32768 }],
      actions: [setExtra('checked', true), { action: 'fail', message: 'RAM under 32 GiB' }],
    };
    expect((await api(stack, 'POST', '/v1/rules', rule)).status).toBe(201);
    const status = await introspect(2);
    expect(status).toMatchObject({ state: 'error', error: 'RAM under 32 GiB' });
    // As upstream: the actions before the failure were carried out, the data stored.
    expect(stack.ironic.node(spec.uuid)!.extra.checked).toBe(true);
    expect((await api(stack, 'GET', `/v1/introspection/${spec.uuid}/data`)).status).toBe(200);
  });

  it('a retried processing job sends the plan its first attempt made, not a new one', async () => {
    const spec = nodeSpec(4);
    const rule = {
      actions: [
        { action: 'extend-attribute', path: '/extra/tags', value: 'seen' },
        { action: 'add-trait', name: 'CUSTOM_SEEN' },
      ],
    };
    expect((await api(stack, 'POST', '/v1/rules', rule)).status).toBe(201);
    // Ironic fails the trait call through every client retry: the job fails once, after the
    // node update went through, and BullMQ retries it.
    const fault = stack.ironic.faults.add({
      node: spec.uuid,
      method: 'PUT',
      path: /\/traits\//,
      status: 503,
      times: Number(stack.config.IRONIC_RETRY_ATTEMPTS),
    });
    expect(await introspect(4)).toMatchObject({ state: 'finished', error: null });
    expect(fault.exhausted).toBe(true);
    const node = stack.ironic.node(spec.uuid)!;
    // Evaluated again, the rule would have appended to the list the first attempt had set.
    expect(node.extra.tags).toEqual(['seen']);
    expect(node.traits).toEqual(['CUSTOM_SEEN']);
  });

  it('traits are set with the microversion that has them, whatever IRONIC_API_VERSION says', async () => {
    const older = await startStack({ IRONIC_API_VERSION: '1.31' }, { nodes: 0 });
    try {
      const { uuid } = older.ironic.addNode({ index: 5 });
      const rule = {
        actions: [
          { action: 'add-trait', name: 'CUSTOM_OLD_IRONIC_CLIENT' },
          // Under 1.37 Ironic answers 404 here too, which must not pass for "no such trait".
          { action: 'remove-trait', name: 'CUSTOM_NEVER_THERE' },
        ],
      };
      expect((await api(older, 'POST', '/v1/rules', rule)).status).toBe(201);
      expect((await api(older, 'POST', `/v1/introspection/${uuid}`)).status).toBe(202);
      expect(await finishedStatus(older, uuid)).toMatchObject({ state: 'finished', error: null });
      expect(older.ironic.node(uuid)!.traits).toEqual(['CUSTOM_OLD_IRONIC_CLIENT']);
      const traitCalls = older.ironic.calls({ node: uuid, pathRe: /\/traits\// });
      expect(traitCalls.map((c) => [c.method, c.status])).toEqual([
        ['PUT', 204],
        ['DELETE', 404],
      ]);
    } finally {
      await older.close();
    }
  });

  it('a value that cannot be formatted ends the run in error naming it', async () => {
    const rule = { actions: [setExtra('x', '{data[no][such][key]}')] };
    expect((await api(stack, 'POST', '/v1/rules', rule)).status).toBe(201);
    const status = await introspect(3);
    expect(status.state).toBe('error');
    expect(status.error).toContain('{data[no][such][key]}');
    expect(stack.ironic.node(nodeSpec(3).uuid)!.extra.x).toBeUndefined();
  });

  it('a pattern that data makes backtrack ends that run in error, and the worker goes on', async () => {
    const rule = {
      conditions: [{ op: 'matches', field: 'crafted', value: '(a+)+(?=b)b' }],
      actions: [setExtra('matched', true)],
    };
    expect((await api(stack, 'POST', '/v1/rules', rule)).status).toBe(201);
    // The callback is the ramdisk's, unauthenticated: anything may post it.
    stack.onBoot = () => ({ extra: { crafted: 'a'.repeat(40) } });
    try {
      const status = await introspect(5);
      expect(status.state).toBe('error');
      expect(status.error).toMatch(
        /Condition matches "\(a\+\)\+\(\?=b\)b" on crafted was still running/,
      );
    } finally {
      stack.onBoot = () => ({});
    }
    expect(await introspect(6)).toMatchObject({ state: 'finished', error: null });
    expect(stack.ironic.node(nodeSpec(6).uuid)!.extra.matched).toBeUndefined();
  });
});
