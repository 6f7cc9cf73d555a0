import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { startStack, type Stack } from '../helpers/stack.ts';

/**
 * Property: whatever a client sends to any endpoint (body, query, path), the
 * answer is never a 5xx, the process survives, and every refusal is a 4xx
 * JSON body with a message.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ MAX_BODY_BYTES: '65536' }, { nodes: 5 });
  stack.onBoot = () => null;
});
afterAll(() => stack?.close());

interface Reply {
  status: number;
  body: string;
}

async function send(method: string, path: string, body?: string, version?: string): Promise<Reply> {
  const headers: Record<string, string> =
    body === undefined ? {} : { 'Content-Type': 'application/json' };
  if (version !== undefined) headers['X-OpenStack-Ironic-Inspector-API-Version'] = version;
  const res = await fetch(`${stack.url}${path}`, { method, body, headers });
  return { status: res.status, body: await res.text() };
}

function check(reply: Reply, what: string): boolean {
  if (reply.status >= 500) throw new Error(`${what} answered ${reply.status}: ${reply.body}`);
  if (reply.status >= 400) {
    const parsed = JSON.parse(reply.body) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message !== 'string' || !parsed.error.message) {
      throw new Error(`${what} answered ${reply.status} without a message: ${reply.body}`);
    }
  }
  return true;
}

const segment = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.uuid(),
  fc.constantFrom(nodeSpec(0).uuid, 'node-1', '..', '%2e%2e', '%00', '__proto__', 'constructor'),
);
const encoded = segment.map((s) => encodeURIComponent(s) || 'x');
const queryValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer().map(String),
  fc.constantFrom('true', 'false', '-1', '1e9', 'latest'),
);
const query = fc
  .dictionary(
    fc.constantFrom(
      'limit',
      'marker',
      'state',
      'manage_boot',
      'new_ipmi_password',
      'new_ipmi_username',
      'x',
    ),
    queryValue,
    { maxKeys: 4 },
  )
  .map((q) => new URLSearchParams(q).toString());

/** Arbitrary JSON, plus near-valid ramdisk data with one field replaced by anything. */
const jsonValue = fc.jsonValue({ maxDepth: 6 });
const nearlyValid = fc
  .tuple(
    fc.integer({ min: 0, max: 4 }),
    fc.constantFrom('inventory', 'seed'),
    fc.constantFrom(
      'cpus',
      'interfaces',
      'inventory',
      'ipmi_address',
      'boot_interface',
      'error',
      'logs',
      'root_disk',
      'block_devices',
      '__proto__',
    ),
    jsonValue,
  )
  .map(([i, form, key, value]) => {
    const data = buildRamdiskData(nodeSpec(i), { form: form as 'inventory' | 'seed' });
    return JSON.stringify({ ...data, [key]: value });
  });
const body = fc.oneof(
  jsonValue.map((v) => JSON.stringify(v)),
  nearlyValid,
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '',
    '{',
    '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    '{"__proto__": {"polluted": 1}}',
  ),
);

/** A valid rule with one part, at any depth, replaced by anything. */
const nearlyValidRule = fc
  .tuple(
    fc.constantFrom(
      'uuid',
      'description',
      'scope',
      'conditions',
      'actions',
      'c.op',
      'c.field',
      'c.value',
      'c.multiple',
      'c.invert',
      'a.action',
      'a.path',
      'a.value',
      'a.__proto__',
    ),
    jsonValue,
  )
  .map(([key, value]) => {
    const condition: Record<string, unknown> = { op: 'eq', field: 'memory_mb', value: 1 };
    const action: Record<string, unknown> = { action: 'set-attribute', path: '/extra/a', value: 1 };
    const rule: Record<string, unknown> = { conditions: [condition], actions: [action] };
    const [where, name] = key.includes('.') ? key.split('.') : ['', key];
    (({ c: condition, a: action })[where!] ?? rule)[name!] = value;
    return JSON.stringify(rule);
  });

type Call = [method: string, path: string, body: string | undefined, version?: string];
const property = (arb: fc.Arbitrary<Call>) =>
  fc.assert(
    fc.asyncProperty(arb, async ([method, path, payload, version]) =>
      check(await send(method, path, payload, version), `${method} ${path}`),
    ),
    { numRuns: RUNS },
  );
const versionHeader = fc.option(
  fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('1.0', '1.18', '1.19', 'latest', '2.0', '1.', '99999999999.1'),
  ),
  { nil: undefined },
);

describe(`fuzzing every endpoint (${RUNS} cases each)`, () => {
  it(
    'POST /v1/continue with any body',
    () => property(body.map((b) => ['POST', '/v1/continue', b] as Call)),
    300_000,
  );

  it(
    'POST /v1/introspection/<node> with any identifier and query',
    () =>
      property(
        fc
          .tuple(encoded, query)
          .map(([n, q]) => ['POST', `/v1/introspection/${n}?${q}`, undefined] as Call),
      ),
    300_000,
  );

  it(
    'GET status, data and list with any identifier and query',
    () =>
      property(
        fc
          .tuple(encoded, query, fc.constantFrom('', '/data', '/data/unprocessed', '__list'))
          .map(([n, q, suffix]) =>
            suffix === '__list'
              ? (['GET', `/v1/introspection?${q}`, undefined] as Call)
              : (['GET', `/v1/introspection/${n}${suffix}?${q}`, undefined] as [
                  string,
                  string,
                  undefined,
                ]),
          ),
      ),
    300_000,
  );

  it(
    'POST abort and reapply with any identifier and body',
    () =>
      property(
        fc
          .tuple(
            encoded,
            fc.constantFrom('/abort', '/data/unprocessed'),
            fc.option(body, { nil: undefined }),
          )
          .map(
            ([n, suffix, b]) =>
              ['POST', `/v1/introspection/${n}${suffix}`, b] as [
                string,
                string,
                string | undefined,
              ],
          ),
      ),
    300_000,
  );

  it(
    'any method on any path, with any version header',
    () =>
      property(
        fc
          .tuple(
            fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
            fc.array(encoded, { maxLength: 4 }),
            versionHeader,
          )
          .map(([m, parts, v]): Call => [m, `/${parts.join('/')}`, undefined, v]),
      ),
    300_000,
  );

  it(
    'POST /v1/rules with any body, and GET or DELETE any rule',
    () =>
      property(
        fc.oneof(
          fc.oneof(body, nearlyValidRule).map((b): Call => ['POST', '/v1/rules', b]),
          fc
            .tuple(fc.constantFrom('GET', 'DELETE'), encoded)
            .map(([m, id]): Call => [m, `/v1/rules/${id}`, undefined]),
        ),
      ),
    300_000,
  );

  it('the process survived and nothing was polluted', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await send('GET', '/')).status).toBe(200);
  });
});
