/**
 * Authentication of the API: every route of `createRouter(deps)`, under each AUTH_STRATEGY, plus
 * what the router does not hold (the dashboard, unknown paths). The apps are built by
 * `createApiDeps` + `createApp` exactly as apps/api/src/main.ts builds them.
 *
 * The Keystone cases run against the fake Keystone (test/fixtures/fake-keystone.ts) and the SAME
 * cases against Debian's real Keystone, which this file starts under REAL_KEYSTONE=1 (`bash
 * .ci/run` sets it): `REAL_KEYSTONE=1 npx vitest run test/integration/auth.test.ts`. Without it
 * that block is reported as skipped. The real one is reached through a proxy with the fake's
 * switches (unreachable, 503, slow) and call counters; two cases need a token lifetime only the
 * fake can set and are skipped against the real one, saying so.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import bcrypt from 'bcryptjs';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createLogger, loadConfig } from '@inspector/shared';
import { createApp, createRouter } from '../../apps/api/src/app.ts';
import { PUBLIC_ROUTES, isAdmin } from '../../apps/api/src/auth/access.ts';
import { createAuth } from '../../apps/api/src/auth/auth.ts';
import {
  apiDepsReady,
  closeApiDeps,
  createApiDeps,
  type ApiDeps,
} from '../../apps/api/src/deps.ts';
import { errorBodies } from '../../apps/api/src/middleware/errors.ts';
import { startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import {
  keystoneToken,
  revokeKeystoneToken,
  startFakeKeystone,
  startKeystoneProxy,
  type FakeKeystone,
  type KeystoneFront,
} from '../fixtures/fake-keystone.ts';
import { startService, waitUntil } from '../helpers/processes.ts';
import { REDIS_URL, dropPrefix, newRedis, testPrefix } from '../helpers/redis.ts';
import {
  REAL_KEYSTONE_SKIPPED,
  REAL_KEYSTONE_START_MS,
  REAL_KEYSTONE_WANTED,
  startRealKeystone,
} from '../interop/real-keystone.ts';

if (!REAL_KEYSTONE_WANTED) console.warn(REAL_KEYSTONE_SKIPPED);

/** Every line any app here logs (debug and up), to prove no token or password is among them. */
const logLines: string[] = [];
const logger = createLogger(
  'debug',
  'auth-test',
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

const prefix = testPrefix();
let ironic: FakeIronic;
beforeAll(async () => {
  ironic = await startFakeIronic({ nodes: 0 });
});
afterAll(async () => {
  await ironic?.close();
  const redis = newRedis();
  await dropPrefix(redis, prefix);
  await redis.quit();
});

interface Served {
  url: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

async function listen(app: Koa): Promise<{ url: string; server: Server }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function serveApi(env: Record<string, string>): Promise<Served> {
  const config = loadConfig({
    REDIS_URL,
    REDIS_PREFIX: prefix,
    IRONIC_URL: ironic.url,
    IRONIC_RETRY_ATTEMPTS: '1',
    IRONIC_TIMEOUT_MS: '5000',
    ...env,
  });
  const deps = createApiDeps(config, logger);
  await apiDepsReady(deps, 5000);
  const { url, server } = await listen(createApp(deps));
  return {
    url,
    deps,
    async close() {
      server.close();
      server.closeAllConnections();
      await closeApiDeps(deps);
    },
  };
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function hit(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: method === 'POST' ? '{}' : undefined,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the failure message
  }
  return { status: res.status, headers: res.headers, body };
}

interface Route {
  method: string;
  /** As registered, e.g. /v1/introspection/:node. */
  path: string;
  /** With every parameter filled in. */
  url: string;
}

/** Expected independently of auth/access.ts, so a route made public by mistake fails here. */
const EXPECTED_PUBLIC = new Set(['GET /', 'GET /v1', 'POST /v1/continue']);
const isPublic = (r: Route) => EXPECTED_PUBLIC.has(`${r.method} ${r.path}`);

/** Every method and path of the router (HEAD rides with GET). */
function routesOf(deps: ApiDeps): Route[] {
  return createRouter(deps).stack.flatMap((layer) =>
    layer.methods
      .filter((m) => m !== 'HEAD')
      .map((method) => ({
        method,
        path: String(layer.path),
        url: String(layer.path).replace(/:\w+/g, 'no-such-node'),
      })),
  );
}

const label = (r: Route, what: string, res: Answer) =>
  `${r.method} ${r.path} ${what}: ${res.status} ${JSON.stringify(res.body)}`;

/** Past authentication: whatever the handler answers, but not a refusal or a failure. */
const passed = (res: Answer) => res.status !== 401 && res.status !== 403 && res.status < 500;

describe('the route table', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serveApi({});
  });
  afterAll(() => served?.close());

  it('has exactly the upstream public routes, plus the probes, metrics and the OpenAPI document', () => {
    const routes = routesOf(served.deps);
    expect(routes.filter(isPublic).map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([...EXPECTED_PUBLIC]),
    );
    expect(routes.filter((r) => !isPublic(r)).length).toBeGreaterThanOrEqual(6);
    expect([...PUBLIC_ROUTES].sort()).toEqual(
      [
        ...EXPECTED_PUBLIC,
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /v1/openapi.json',
      ].sort(),
    );
  });
});

describe('configuration', () => {
  it('defaults to noauth', () => {
    expect(loadConfig({}).AUTH_STRATEGY).toBe('noauth');
  });

  it('refuses keystone without its URL and service credentials, naming each variable', () => {
    const secret = 'hunter2-not-in-messages';
    let message = '';
    try {
      loadConfig({ AUTH_STRATEGY: 'keystone', KEYSTONE_PASSWORD: secret });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    for (const name of ['KEYSTONE_URL', 'KEYSTONE_USERNAME', 'KEYSTONE_PROJECT']) {
      expect(message).toMatch(new RegExp(`${name}=.*required when AUTH_STRATEGY=keystone`));
    }
    expect(message).not.toContain('KEYSTONE_PASSWORD');
    expect(message).not.toContain(secret);
  });

  it('refuses IRONIC_AUTH_STRATEGY=keystone without the service credentials, naming why', () => {
    expect(loadConfig({}).IRONIC_AUTH_STRATEGY).toBe('noauth');
    expect(() =>
      loadConfig({ IRONIC_AUTH_STRATEGY: 'keystone', KEYSTONE_URL: 'http://ks:5000' }),
    ).toThrow(/KEYSTONE_USERNAME=.*required when IRONIC_AUTH_STRATEGY=keystone/);
    // Both need the same settings: the message names the callers' authentication first.
    expect(() =>
      loadConfig({ IRONIC_AUTH_STRATEGY: 'keystone', AUTH_STRATEGY: 'keystone' }),
    ).toThrow(/KEYSTONE_URL=.*required when AUTH_STRATEGY=keystone/);
    expect(() => loadConfig({ IRONIC_AUTH_STRATEGY: 'basic' })).toThrow(/IRONIC_AUTH_STRATEGY/);
  });

  it('refuses http_basic without HTPASSWD_FILE, and an empty role list', () => {
    expect(() => loadConfig({ AUTH_STRATEGY: 'http_basic' })).toThrow(/HTPASSWD_FILE/);
    expect(() => loadConfig({ KEYSTONE_ALLOWED_ROLES: ' , ' })).toThrow(
      /KEYSTONE_ALLOWED_ROLES.*at least one role/,
    );
    expect(loadConfig({ KEYSTONE_ALLOWED_ROLES: 'admin, service' }).KEYSTONE_ALLOWED_ROLES).toEqual(
      ['admin', 'service'],
    );
  });

  it('stops the real entry point with the variable named', async () => {
    const proc = startService('apps/api/src/main.ts', {
      AUTH_STRATEGY: 'keystone',
      PORT: '0',
      REDIS_URL,
    });
    try {
      // Generous: tsx compiling the entry point on a busy machine takes a while.
      await proc.waitFor(/KEYSTONE_URL=.*required when AUTH_STRATEGY=keystone/, 90_000);
      await waitUntil('the API to exit', async () => proc.child.exitCode !== null, 30_000);
      expect(proc.child.exitCode).toBe(2);
    } finally {
      await proc.stop();
    }
  }, 150_000);

  it('stops the real entry point on an unreadable HTPASSWD_FILE, the file named, no stack trace', async () => {
    const proc = startService('apps/api/src/main.ts', {
      AUTH_STRATEGY: 'http_basic',
      HTPASSWD_FILE: '/nonexistent/htpasswd',
      PORT: '0',
      REDIS_URL,
    });
    try {
      await proc.waitFor(/HTPASSWD_FILE=\/nonexistent\/htpasswd: cannot read it \(ENOENT/, 90_000);
      await waitUntil('the API to exit', async () => proc.child.exitCode !== null, 30_000);
      expect(proc.child.exitCode).toBe(2);
      expect(proc.output.filter((line) => /^\s+at /.test(line))).toEqual([]);
    } finally {
      await proc.stop();
    }
  }, 150_000);
});

describe('AUTH_STRATEGY=noauth', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serveApi({});
  });
  afterAll(() => served?.close());

  it('lets every route through without credentials', async () => {
    for (const r of routesOf(served.deps)) {
      const res = await hit(served.url, r.method, r.url);
      expect.soft(passed(res), label(r, 'without credentials', res)).toBe(true);
    }
  });
});

describe('AUTH_STRATEGY=http_basic', () => {
  let dir: string;
  let file: string;
  let served: Served;
  const basic = (user: string, password: string) => ({
    Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });
  // Apache's htpasswd -B writes $2y$; other tools $2a$ or $2b$: the same bcrypt.
  const hash = (password: string, variant: string) =>
    bcrypt.hashSync(password, 4).replace(/^\$2b\$/, `$${variant}$`);
  const users = {
    alice: ['alice-pw', '2y'],
    bob: ['bob-pw', '2a'],
    carol: ['carol-pw', '2b'],
  } as const;
  const htpasswd = (names: (keyof typeof users | 'dave')[]) =>
    [
      '# written by the test',
      ...names.map((n) =>
        n === 'dave' ? `dave:${hash('dave-pw', '2y')}` : `${n}:${hash(users[n][0], users[n][1])}`,
      ),
      'md5user:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/',
      'shauser:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      '',
    ].join('\n');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auth-test-'));
    file = path.join(dir, 'htpasswd');
    await writeFile(file, htpasswd(['alice', 'bob', 'carol']));
    served = await serveApi({ AUTH_STRATEGY: 'http_basic', HTPASSWD_FILE: file });
  });
  afterAll(async () => {
    await served?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses every protected route without credentials: 401 with the Basic challenge', async () => {
    for (const r of routesOf(served.deps).filter((r) => !isPublic(r))) {
      const res = await hit(served.url, r.method, r.url);
      expect.soft(res.status, label(r, 'without credentials', res)).toBe(401);
      expect.soft(res.headers.get('www-authenticate')).toBe('Basic realm="ironic-inspector"');
      expect.soft(res.body?.error?.message).toBe('Authentication required');
    }
  });

  it('refuses a wrong password on every protected route', async () => {
    for (const r of routesOf(served.deps).filter((r) => !isPublic(r))) {
      const res = await hit(served.url, r.method, r.url, basic('alice', 'bob-pw'));
      expect.soft(res.status, label(r, 'with a wrong password', res)).toBe(401);
      expect.soft(res.headers.get('www-authenticate')).toBe('Basic realm="ironic-inspector"');
    }
  });

  it.each([
    ['an unknown user', basic('mallory', 'alice-pw')],
    ['an MD5 (non-bcrypt) entry', basic('md5user', 'password')],
    ['a SHA1 (non-bcrypt) entry', basic('shauser', 'password')],
    ['an empty password', basic('alice', '')],
    ['no colon', { Authorization: `Basic ${Buffer.from('alice').toString('base64')}` }],
    ['bad base64', { Authorization: 'Basic !!!' }],
    ['another scheme', { Authorization: 'Bearer alice-pw' }],
  ])('refuses %s', async (_what, headers) => {
    const res = await hit(served.url, 'GET', '/v1/introspection', headers);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="ironic-inspector"');
  });

  it('accepts $2y$, $2a$ and $2b$ hashes on every protected route', async () => {
    for (const [user, [password]] of Object.entries(users)) {
      for (const r of routesOf(served.deps).filter((r) => !isPublic(r))) {
        const res = await hit(served.url, r.method, r.url, basic(user, password));
        expect.soft(passed(res), label(r, `as ${user}`, res)).toBe(true);
      }
    }
    expect((await hit(served.url, 'GET', '/v1/introspection', basic('bob', 'bob-pw'))).status).toBe(
      200,
    );
  });

  it('leaves the public routes open', async () => {
    for (const r of routesOf(served.deps).filter(isPublic)) {
      const res = await hit(served.url, r.method, r.url);
      expect.soft(passed(res), label(r, 'without credentials', res)).toBe(true);
    }
  });

  it('sees users added and removed without a restart', async () => {
    await writeFile(file, htpasswd(['bob', 'dave']));
    expect(
      (await hit(served.url, 'GET', '/v1/introspection', basic('dave', 'dave-pw'))).status,
    ).toBe(200);
    // alice was accepted (and remembered) before: removing her must still shut her out.
    const alice = await hit(served.url, 'GET', '/v1/introspection', basic('alice', 'alice-pw'));
    expect(alice.status).toBe(401);
    await writeFile(file, htpasswd(['alice', 'bob', 'carol']));
    expect(
      (await hit(served.url, 'GET', '/v1/introspection', basic('dave', 'dave-pw'))).status,
    ).toBe(401);
  });

  it('answers 503, not a pass, while the file is gone', async () => {
    await rm(file);
    try {
      const res = await hit(served.url, 'GET', '/v1/introspection', basic('alice', 'alice-pw'));
      expect(res.status).toBe(503);
      expect(res.body.error.message).toMatch(/password file/);
    } finally {
      await writeFile(file, htpasswd(['alice', 'bob', 'carol']));
    }
    expect(
      (await hit(served.url, 'GET', '/v1/introspection', basic('alice', 'alice-pw'))).status,
    ).toBe(200);
  });

  it('stops start-up when the file cannot be read, naming HTPASSWD_FILE', () => {
    const config = loadConfig({
      AUTH_STRATEGY: 'http_basic',
      HTPASSWD_FILE: path.join(dir, 'missing'),
    });
    expect(() => createAuth(config, logger)).toThrow(ConfigError);
    expect(() => createAuth(config, logger)).toThrow(/HTPASSWD_FILE=.*missing/);
  });
});

/** A Keystone the cases run against: the fake, or a real one behind a proxy. */
interface Target {
  front: KeystoneFront;
  fake: FakeKeystone | null;
  /**
   * KEYSTONE_TIMEOUT_MS of the outage case. The real Keystone shares two cores with the
   * end-to-end suites: a tight limit there would read a busy Keystone as an outage.
   */
  outageTimeoutMs: number;
  stop(): Promise<void>;
}

function keystoneCases(name: string, startTarget: () => Promise<Target>) {
  describe(`AUTH_STRATEGY=keystone against ${name}`, () => {
    let t: Target;
    let main: Served;
    const others: Served[] = [];
    /** Every token and password used here, none of which may appear in a log line. */
    const secrets = new Set(['inspectorpass', 'operatorpass', 'viewerpass', 'adminpass']);

    const env = (extra: Record<string, string> = {}) => ({
      AUTH_STRATEGY: 'keystone',
      KEYSTONE_URL: t.front.url,
      KEYSTONE_USERNAME: 'inspector',
      KEYSTONE_PASSWORD: 'inspectorpass',
      KEYSTONE_PROJECT: 'service',
      KEYSTONE_TIMEOUT_MS: String(t.outageTimeoutMs * 2),
      ...extra,
    });
    const serveMore = async (extra: Record<string, string>) => {
      const served = await serveApi(env(extra));
      others.push(served);
      return served;
    };
    const PASSWORDS = { operator: 'operatorpass', viewer: 'viewerpass', admin: 'adminpass' };
    const token = async (user: keyof typeof PASSWORDS) => {
      const value = await keystoneToken(t.front.url, user, PASSWORDS[user]);
      secrets.add(value);
      return value;
    };
    const as = (value: string) => ({ 'X-Auth-Token': value });
    const noteServiceToken = () => {
      if (t.front.lastServiceToken) secrets.add(t.front.lastServiceToken);
    };
    let operator: string;
    let viewer: string;
    let admin: string;

    beforeAll(async () => {
      t = await startTarget();
      // Refused tokens stay refused for the whole file, so counting validations is exact.
      main = await serveApi(env({ KEYSTONE_NEGATIVE_CACHE_TTL_S: '600' }));
      [operator, viewer, admin] = [
        await token('operator'),
        await token('viewer'),
        await token('admin'),
      ];
    }, REAL_KEYSTONE_START_MS);
    afterAll(async () => {
      await Promise.all([main, ...others].filter(Boolean).map((s) => s.close()));
      await t?.stop();
    });

    it('refuses every protected route without a token: 401 with the Keystone challenge', async () => {
      for (const r of routesOf(main.deps).filter((r) => !isPublic(r))) {
        const res = await hit(main.url, r.method, r.url);
        expect.soft(res.status, label(r, 'without a token', res)).toBe(401);
        expect.soft(res.body?.error?.message).toBe('Authentication required');
        expect.soft(res.headers.get('www-authenticate')).toBe(`Keystone uri="${t.front.url}"`);
      }
    });

    it('refuses a bogus and a tampered token on every protected route: 401', async () => {
      const tampered = `${operator.slice(0, -4)}${operator.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      for (const bad of ['bogus', tampered, 'x'.repeat(10_000), 'not a token']) {
        for (const r of routesOf(main.deps).filter((r) => !isPublic(r))) {
          const res = await hit(main.url, r.method, r.url, as(bad));
          expect.soft(res.status, label(r, `with ${bad.slice(0, 12)}`, res)).toBe(401);
          expect.soft(res.headers.get('www-authenticate')).toBe(`Keystone uri="${t.front.url}"`);
        }
      }
    });

    it('refuses a token without an allowed role (reader only): 403 Access denied by policy', async () => {
      for (const r of routesOf(main.deps).filter((r) => !isPublic(r))) {
        const res = await hit(main.url, r.method, r.url, as(viewer));
        expect.soft(res.status, label(r, 'as viewer', res)).toBe(403);
        expect.soft(res.body?.error?.message).toBe('Access denied by policy');
      }
    });

    it('lets tokens with an allowed role through on every protected route', async () => {
      for (const value of [operator, admin]) {
        for (const r of routesOf(main.deps).filter((r) => !isPublic(r))) {
          const res = await hit(main.url, r.method, r.url, as(value));
          expect.soft(passed(res), label(r, 'with the admin role', res)).toBe(true);
        }
        expect((await hit(main.url, 'GET', '/v1/introspection', as(value))).status).toBe(200);
      }
    });

    it('leaves the public routes open, with or without a token', async () => {
      for (const r of routesOf(main.deps).filter(isPublic)) {
        for (const headers of [{}, as('bogus'), as(viewer)]) {
          const res = await hit(main.url, r.method, r.url, headers);
          expect.soft(passed(res), label(r, 'without a valid token', res)).toBe(true);
        }
      }
      const probe = await hit(main.url, 'GET', '/healthz');
      expect(probe.status).toBe(200);
    });

    it('guards what the router does not hold: the dashboard and unknown paths', async () => {
      expect((await hit(main.url, 'GET', '/dashboard')).status).toBe(401);
      expect((await hit(main.url, 'GET', '/dashboard/api/queues', as('bogus'))).status).toBe(401);
      // Any authenticated caller sees the dashboard; only full rights may change anything there.
      const readOnly = await hit(main.url, 'GET', '/dashboard/api/queues', as(viewer));
      expect(readOnly.status).toBe(200);
      expect(readOnly.body.queues.every((q: any) => q.readOnlyMode === true)).toBe(true);
      const full = await hit(main.url, 'GET', '/dashboard/api/queues', as(operator));
      expect(full.body.queues.every((q: any) => q.readOnlyMode === false)).toBe(true);

      expect((await hit(main.url, 'GET', '/no/such/thing')).status).toBe(401);
      expect((await hit(main.url, 'GET', '/no/such/thing', as(viewer))).status).toBe(403);
      expect((await hit(main.url, 'GET', '/no/such/thing', as(operator))).status).toBe(404);
    });

    it('tells other code who is calling (ctx.state.auth, isAdmin)', async () => {
      const app = new Koa();
      app.use(errorBodies(logger));
      app.use(createAuth(main.deps.config, logger).middleware);
      app.use((ctx) => {
        ctx.body = { auth: ctx.state.auth, isAdmin: isAdmin(ctx) };
      });
      const { url, server } = await listen(app);
      try {
        // Under the dashboard prefix, so a token without the role gets through as well.
        const seen = await hit(url, 'GET', '/dashboard/whoami', as(viewer));
        expect(seen.body).toEqual({
          auth: {
            strategy: 'keystone',
            user: 'viewer',
            userId: expect.any(String),
            project: 'admin',
            projectId: expect.any(String),
            roles: ['reader'],
            isAdmin: false,
          },
          isAdmin: false,
        });
        const op = await hit(url, 'GET', '/v1/introspection', as(operator));
        expect(op.body.auth.user).toBe('operator');
        expect([...op.body.auth.roles].sort()).toEqual(['admin', 'member', 'reader']);
        expect(op.body.isAdmin).toBe(true);
      } finally {
        server.close();
        server.closeAllConnections();
      }
    });

    it('validates a token once for many requests, sequential or concurrent', async () => {
      const fresh = await token('operator');
      const before = t.front.counts.validate;
      for (let i = 0; i < 10; i++) {
        expect((await hit(main.url, 'GET', '/v1/introspection', as(fresh))).status).toBe(200);
      }
      const other = await token('operator');
      const concurrent = await Promise.all(
        Array.from({ length: 20 }, () => hit(main.url, 'GET', '/v1/introspection', as(other))),
      );
      expect(concurrent.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(t.front.counts.validate - before).toBe(2);
    });

    it('remembers a refused token for a while instead of asking again', async () => {
      const bogus = `gAAAAAB${randomBytes(60).toString('base64url')}`;
      const before = t.front.counts.validate;
      for (let i = 0; i < 5; i++) {
        expect((await hit(main.url, 'GET', '/v1/introspection', as(bogus))).status).toBe(401);
      }
      expect(t.front.counts.validate - before).toBe(1);
    });

    it('answers 503, never a pass, while Keystone is unreachable, failing or slow', async () => {
      const outage = await serveMore({ KEYSTONE_TIMEOUT_MS: String(t.outageTimeoutMs) });
      const known = await token('operator');
      expect((await hit(outage.url, 'GET', '/v1/introspection', as(known))).status).toBe(200);
      const fresh = [await token('operator'), await token('operator'), await token('operator')];
      const cases = [
        ['unreachable', /Keystone at .* cannot be reached/],
        ['error503', /Keystone at .* answered HTTP 503/],
        ['slow', new RegExp(`Keystone at .* did not answer within ${t.outageTimeoutMs} ms`)],
      ] as const;
      try {
        for (const [i, [fault, message]] of cases.entries()) {
          t.front.fault = fault;
          t.front.slowMs = t.outageTimeoutMs * 12;
          const res = await hit(outage.url, 'GET', '/v1/introspection', as(fresh[i]!));
          expect(res.status, fault).toBe(503);
          expect(res.body.error.message, fault).toMatch(message);
          expect(res.headers.get('retry-after'), fault).toBe('5');
          expect(JSON.stringify(res.body)).not.toContain(fresh[i]!);
          // A token validated before the outage is still known: the cache carries it through.
          expect((await hit(outage.url, 'GET', '/v1/introspection', as(known))).status).toBe(200);
        }
      } finally {
        t.front.fault = 'none';
      }
      for (const value of fresh) {
        expect((await hit(outage.url, 'GET', '/v1/introspection', as(value))).status).toBe(200);
      }
    });

    it('asks again on a new connection when Keystone drops one unanswered', async () => {
      const fresh = await token('operator');
      const before = t.front.counts.validate;
      t.front.fault = 'dropNext';
      try {
        expect((await hit(main.url, 'GET', '/v1/introspection', as(fresh))).status).toBe(200);
        // The switch turns itself off once it has dropped a request: one was dropped.
        expect(t.front.fault).toBe('none');
        expect(t.front.counts.validate - before).toBe(1);
      } finally {
        t.front.fault = 'none';
      }
    });

    it('authenticates the service again, once, when Keystone stops accepting its token', async () => {
      const [warm, fresh] = [await token('operator'), await token('operator')];
      // Other apps validate through the same Keystone: make this app's token the latest seen.
      expect((await hit(main.url, 'GET', '/v1/introspection', as(warm))).status).toBe(200);
      noteServiceToken();
      const service = t.front.lastServiceToken!;
      expect(service).toBeTruthy();
      await revokeKeystoneToken(t.front.url, admin, service);
      const before = { ...t.front.counts };
      expect((await hit(main.url, 'GET', '/v1/introspection', as(fresh))).status).toBe(200);
      expect(t.front.counts.authenticate - before.authenticate).toBe(1);
      expect(t.front.counts.validate - before.validate).toBe(2);
      expect(t.front.lastServiceToken).not.toBe(service);
      noteServiceToken();
    });

    it('refuses a revoked token at once when the cache is off', async () => {
      const nocache = await serveMore({
        KEYSTONE_TOKEN_CACHE_TTL_S: '0',
        KEYSTONE_NEGATIVE_CACHE_TTL_S: '0',
      });
      const fresh = await token('operator');
      expect((await hit(nocache.url, 'GET', '/v1/introspection', as(fresh))).status).toBe(200);
      await revokeKeystoneToken(t.front.url, admin, fresh);
      expect((await hit(nocache.url, 'GET', '/v1/introspection', as(fresh))).status).toBe(401);
      noteServiceToken();
    });

    it('answers 503 naming the cause when the service user may not validate tokens', async () => {
      const weak = await serveMore({
        KEYSTONE_USERNAME: 'viewer',
        KEYSTONE_PASSWORD: 'viewerpass',
        KEYSTONE_PROJECT: 'admin',
      });
      const res = await hit(weak.url, 'GET', '/v1/introspection', as(await token('operator')));
      expect(res.status).toBe(503);
      expect(res.body.error.message).toMatch(/does not let the service user validate tokens/);
      noteServiceToken();
    });

    it('answers 503 when Keystone refuses the service credentials', async () => {
      const wrong = await serveMore({ KEYSTONE_PASSWORD: 'not-the-password' });
      secrets.add('not-the-password');
      const res = await hit(wrong.url, 'GET', '/v1/introspection', as(await token('operator')));
      expect(res.status).toBe(503);
      expect(res.body.error.message).toMatch(/refused the service credentials/);
      expect(JSON.stringify(res.body)).not.toContain('not-the-password');
    });

    const fakeOnly = `(fake Keystone only: needs a token lifetime the test sets${
      name.includes('fake') ? '' : '; skipped against the real one'
    })`;

    it.runIf(name.includes('fake'))(
      `refuses a cached token once it expires ${fakeOnly}`,
      async () => {
        const fake = t.fake!;
        // Long enough that a loaded machine still validates it before it ends.
        fake.tokenLifetimeMs = 4_000;
        let shortLived: string;
        try {
          shortLived = await token('operator');
        } finally {
          fake.tokenLifetimeMs = 3_600_000;
        }
        const issuedBy = Date.now();
        expect((await hit(main.url, 'GET', '/v1/introspection', as(shortLived))).status).toBe(200);
        await new Promise((r) => setTimeout(r, issuedBy + 4_000 + 100 - Date.now()));
        const before = t.front.counts.validate;
        expect((await hit(main.url, 'GET', '/v1/introspection', as(shortLived))).status).toBe(401);
        // Refused because the cache let it go at its expiry and asked Keystone again.
        expect(t.front.counts.validate - before).toBe(1);
      },
    );

    it.runIf(name.includes('fake'))(
      `renews the service token before it expires ${fakeOnly}`,
      async () => {
        const fake = t.fake!;
        const renewing = await serveMore({});
        const [first, second] = [await token('operator'), await token('operator')];
        fake.tokenLifetimeMs = 4_000;
        try {
          expect((await hit(renewing.url, 'GET', '/v1/introspection', as(first))).status).toBe(200);
        } finally {
          fake.tokenLifetimeMs = 3_600_000;
        }
        noteServiceToken();
        // Past three quarters of the service token's life (3 s), before its end (4 s).
        await new Promise((r) => setTimeout(r, 3_200));
        const before = { ...t.front.counts };
        expect((await hit(renewing.url, 'GET', '/v1/introspection', as(second))).status).toBe(200);
        // Renewed up front: one authentication and one validation, no refused attempt first.
        expect(t.front.counts.authenticate - before.authenticate).toBe(1);
        expect(t.front.counts.validate - before.validate).toBe(1);
        noteServiceToken();
      },
    );

    it('never logs a token or a password', () => {
      noteServiceToken();
      const logs = logLines.join('');
      // The check means something only if the auth code's own lines were captured.
      expect(logs).toContain('Keystone token validated');
      expect(logs).toContain('obtained the service token from Keystone');
      for (const secret of secrets) expect(logs).not.toContain(secret);
    });
  });
}

keystoneCases('the fake Keystone', async () => {
  const fake = await startFakeKeystone();
  return { front: fake, fake, outageTimeoutMs: 5_000, stop: () => fake.close() };
});

describe.skipIf(!REAL_KEYSTONE_WANTED)(
  'REAL Keystone (skipped unless REAL_KEYSTONE=1: see the header of this file)',
  () => {
    keystoneCases('the real Keystone', async () => {
      const keystone = await startRealKeystone();
      const front = await startKeystoneProxy(keystone.url).catch(async (err: unknown) => {
        await keystone.close();
        throw err;
      });
      const stop = async () => {
        await front.close();
        await keystone.close();
      };
      return { front, fake: null, outageTimeoutMs: 20_000, stop };
    });
  },
);
