import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RamdiskDataSchema, createLogger, loadConfig, type Config } from '@inspector/shared';
import { createApp, createRouter } from '../../apps/api/src/app.ts';
import { accessFor } from '../../apps/api/src/auth/access.ts';
import {
  apiDepsReady,
  closeApiDeps,
  createApiDeps,
  type ApiDeps,
} from '../../apps/api/src/deps.ts';
import { errorBodies } from '../../apps/api/src/middleware/errors.ts';
import { dashboard } from '../../apps/api/src/ops/dashboard.ts';
import { dashboardDump } from '../helpers/ops.ts';
import { ErrorBodySchema, StatusListSchema, StatusSchema } from '../../apps/api/src/ops/openapi.ts';
import { nodeSpec } from '../fixtures/fake-ironic.ts';
import { buildRamdiskData, postRamdiskData } from '../fixtures/ramdisk-sim.ts';
import { freePort, waitUntil } from '../helpers/processes.ts';
import { api, finishedStatus, startStack, type Stack } from '../helpers/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack(
    { ENABLE_SETTING_IPMI_CREDENTIALS: 'true', CREDENTIALS_CHECK_INTERVAL_MS: '10' },
    { nodes: 3 },
  );
});
afterAll(() => stack?.close());

const finished = (uuid: string) => finishedStatus(stack, uuid);

/** The real API app on a port of its own, for settings the shared stack does not have. */
async function serveApi(
  config: Config,
): Promise<{ url: string; deps: ApiDeps; close(): Promise<void> }> {
  const deps = createApiDeps(config, createLogger('silent', 'test'));
  await apiDepsReady(deps, 5000);
  const server: Server = await new Promise((resolve) => {
    const s = createApp(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deps,
    async close() {
      server.close();
      server.closeAllConnections();
      await closeApiDeps(deps);
    },
  };
}

describe('health endpoints', () => {
  it('answers liveness and readiness, whatever API version is asked for', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await api(stack, 'GET', path, undefined, {
        'X-OpenStack-Ironic-Inspector-API-Version': '99.0',
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });

  it('is not ready, with a JSON error, while Redis does not answer', async () => {
    const config = loadConfig({
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      REDIS_PREFIX: stack.config.REDIS_PREFIX,
    });
    const { url, close } = await serveApi(config);
    try {
      const ready = await api({ url }, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ErrorBodySchema.parse(ready.body).error.message).toMatch(/^Redis is not available/);
      expect((await api({ url }, 'GET', '/healthz')).status).toBe(200);
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
      expect(text).not.toMatch(/^inspector_queue_jobs\{/m);
    } finally {
      await close();
    }
  });
});

describe('metrics', () => {
  it('counts a run in the API and the worker, with no node id in any label', async () => {
    const spec = nodeSpec(0);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await finished(spec.uuid);

    const res = await fetch(`${stack.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const apiText = await res.text();
    expect(apiText).toContain('inspector_introspections_started_total{kind="introspect"} 1');
    expect(apiText).toMatch(
      /^inspector_ironic_request_duration_seconds_count\{operation="get_node",status_class="2xx"\} [1-9]/m,
    );
    for (const queue of ['introspection', 'processing', 'timeouts', 'maintenance']) {
      expect(apiText).toMatch(
        new RegExp(`^inspector_queue_jobs\\{queue="${queue}",state="waiting"\\} \\d+$`, 'm'),
      );
    }
    expect(apiText).toMatch(/^nodejs_eventloop_lag_seconds /m);

    const workerText = await stack.worker.metrics.registry.metrics();
    expect(workerText).toContain('inspector_introspections_finished_total 1');
    expect(workerText).toMatch(
      /^inspector_introspection_duration_seconds_count\{outcome="finished"\} 1$/m,
    );
    expect(workerText).toMatch(
      /^inspector_ironic_request_duration_seconds_count\{operation="set_power_state",status_class="2xx"\} [1-9]/m,
    );
    for (const text of [apiText, workerText]) {
      expect(text).not.toContain(spec.uuid);
      expect(text).not.toContain(spec.name);
      for (const mac of spec.macs) expect(text).not.toContain(mac);
    }
  });

  it('counts a run that fails, by reason', async () => {
    const spec = nodeSpec(1);
    stack.onBoot = () => ({ error: 'boom' });
    try {
      expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
      expect(await finished(spec.uuid)).toMatchObject({ state: 'error' });
    } finally {
      stack.onBoot = () => ({});
    }
    // The ramdisk's error ends the run in the API, where /v1/continue refuses the data.
    const apiText = await (await fetch(`${stack.url}/metrics`)).text();
    expect(apiText).toContain('inspector_introspections_failed_total{reason="error"} 1');
    expect(apiText).toMatch(
      /^inspector_introspection_duration_seconds_count\{outcome="error"\} 1$/m,
    );
  });
});

describe('GET /v1/openapi.json', () => {
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
    components: { schemas: Record<string, unknown> };
  };

  beforeAll(async () => {
    const res = await api(stack, 'GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });

  it('has every route of the API router, with its methods', async () => {
    const deps = createApiDeps(stack.config, createLogger('silent', 'test'));
    try {
      const routes = createRouter(deps)
        .stack.filter((layer) => layer.methods.length > 0)
        .flatMap((layer) =>
          layer.methods
            .filter((m) => m !== 'HEAD')
            .map((m) => [String(layer.path).replace(/:(\w+)/g, '{$1}'), m.toLowerCase()]),
        );
      expect(routes.length).toBeGreaterThanOrEqual(9);
      const missing = routes.filter(([path, method]) => !doc.paths[path!]?.[method!]);
      expect(missing).toEqual([]);
      // The document calls public exactly what the authentication gate lets through.
      for (const [path, method] of routes) {
        const operation = doc.paths[path!]![method!] as { security?: unknown[] };
        const access = accessFor(method!, path!.replace(/\{\w+\}/g, 'x'));
        expect(operation.security?.length === 0, `${method} ${path}`).toBe(access === 'public');
      }
    } finally {
      await closeApiDeps(deps);
    }
  });

  it('describes the continue body with the schema the API validates it with', () => {
    expect(doc.openapi).toBe('3.1.0');
    const { $schema: _dialect, ...expected } = z.toJSONSchema(RamdiskDataSchema, { io: 'input' });
    expect(doc.components.schemas.RamdiskData).toEqual(expected);
    const body = doc.paths['/v1/continue']!.post as {
      requestBody: { content: Record<string, { schema: unknown }> };
    };
    expect(body.requestBody.content['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/RamdiskData',
    });
  });

  it('refers only to components it has', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    expect(refs.length).toBeGreaterThan(10);
    const components = doc.components as unknown as Record<string, Record<string, unknown>>;
    for (const [, kind, name] of refs) expect(components[kind!]?.[name!], name).toBeDefined();
  });

  it('lists the refusals middleware gives: versions, authentication, node identifiers', () => {
    const responses = (path: string, method: string) =>
      Object.keys((doc.paths[path] as Record<string, { responses: object }>)[method]!.responses);
    expect(responses('/v1/introspection/{node}', 'get')).toEqual(
      expect.arrayContaining(['400', '401', '403', '404', '406']),
    );
    expect(responses('/v1/introspection/{node}/abort', 'post')).toContain('400');
    // The ramdisk's callback is public: no authentication to fail.
    expect(responses('/v1/continue', 'post')).not.toContain('401');
    expect(responses('/v1/continue', 'post')).toContain('406');
    expect(responses('/healthz', 'get')).not.toContain('406');
  });

  it('matches what the API really answers', async () => {
    const spec = nodeSpec(2);
    expect((await api(stack, 'POST', `/v1/introspection/${spec.uuid}`)).status).toBe(202);
    await finished(spec.uuid);
    const status = await api(stack, 'GET', `/v1/introspection/${spec.uuid}`);
    expect(StatusSchema.safeParse(status.body).error).toBeUndefined();
    const list = await api(stack, 'GET', '/v1/introspection');
    expect(StatusListSchema.safeParse(list.body).error).toBeUndefined();
    const missing = await api(stack, 'GET', '/v1/introspection/no-such-node');
    expect(missing.status).toBe(404);
    expect(ErrorBodySchema.safeParse(missing.body).error).toBeUndefined();
  });
});

describe('queue dashboard', () => {
  it('serves the board and every queue to an admin', async () => {
    const page = await fetch(`${stack.url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const res = await api(stack, 'GET', '/dashboard/api/queues');
    expect(res.status).toBe(200);
    const queues = res.body.queues as { name: string; readOnlyMode: boolean }[];
    expect(queues.map((q) => q.name).sort()).toEqual([
      'introspection',
      'maintenance',
      'processing',
      'timeouts',
    ]);
    expect(queues.every((q) => !q.readOnlyMode)).toBe(true);
  });

  it("answers a body its parser refuses with a 400 saying why, not as a server's error", async () => {
    const res = await api(stack, 'PUT', '/dashboard/api/queues/maintenance/concurrency', '{bad');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/JSON/);
  });

  it('shows no secret of a credentials-flow run, only ids', async () => {
    const password = 'OpsDashSecret42';
    const spec = nodeSpec(5);
    stack.ironic.addNode({ index: 5, maintenance: true });
    const started = await api(
      stack,
      'POST',
      `/v1/introspection/${spec.uuid}?new_ipmi_username=opsuser&new_ipmi_password=${password}`,
    );
    expect(started.status).toBe(202);
    await waitUntil('the run to wait for the ramdisk', async () => {
      const s = await api(stack, 'GET', `/v1/introspection/${spec.uuid}`);
      return s.body?.state === 'waiting';
    });
    const reply = await postRamdiskData(stack.url, buildRamdiskData(spec));
    // The ramdisk itself is the one party that is told the password.
    expect(reply.body).toMatchObject({ ipmi_password: password });
    expect(await finished(spec.uuid)).toMatchObject({ state: 'finished' });
    expect(stack.ironic.node(spec.uuid)!.driver_info.ipmi_password).toBe(password);

    const { text, jobs } = await dashboardDump(stack.url);
    const ours = jobs.filter((j) => (j.data as { node?: string }).node === spec.uuid);
    expect(ours.map((j) => j.name)).toEqual(expect.arrayContaining(['introspect', 'process']));
    for (const job of ours) {
      expect(Object.keys(job.data as object).sort()).toEqual(['gen', 'node', 'reqId']);
    }
    expect(text).not.toContain(password);
    const metrics = [
      await (await fetch(`${stack.url}/metrics`)).text(),
      await stack.worker.metrics.registry.metrics(),
    ].join('\n');
    expect(metrics).not.toContain(password);
  });

  it('is read-only for callers without admin rights', async () => {
    // A job of its own to try to retry, whatever ran before.
    const spec = nodeSpec(6);
    stack.ironic.addNode({ index: 6 });
    await api(stack, 'POST', `/v1/introspection/${spec.uuid}`);
    await finished(spec.uuid);
    const app = new Koa();
    app.use(errorBodies(createLogger('silent', 'test')));
    app.use(dashboard(stack.worker.queues, () => false));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const { jobs } = await dashboardDump(url);
      expect(jobs.length).toBeGreaterThan(0);
      const listed = await api({ url }, 'GET', '/dashboard/api/queues');
      expect(listed.body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
      const job = jobs.find((j) => (j.data as { node?: string }).node === spec.uuid)!;
      expect(job.queue).toBe('introspection');
      for (const [method, path] of [
        ['PUT', '/dashboard/api/queues/introspection/pause'],
        ['PUT', `/dashboard/api/queues/introspection/${job.id}/retry`],
        ['DELETE', '/dashboard/api/queues/introspection/obliterate'],
        ['PUT', '/dashboard/api/queues/introspection/clean/completed'],
      ] as const) {
        const res = await api({ url }, method, path);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error.message).toMatch(/read-only/);
      }
      expect(await stack.worker.queues.byName.introspection.isPaused()).toBe(false);
      expect(await stack.worker.queues.byName.introspection.getJob(job.id)).toBeDefined();
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});

describe('with authentication on', () => {
  let dir: string;
  let served: Awaited<ReturnType<typeof serveApi>>;
  const basic = `Basic ${Buffer.from('operator:opsPassw0rd').toString('base64')}`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ops-auth-'));
    const htpasswd = path.join(dir, 'htpasswd');
    await writeFile(htpasswd, `operator:${bcrypt.hashSync('opsPassw0rd', 4)}\n`);
    served = await serveApi(
      loadConfig({
        REDIS_URL: stack.config.REDIS_URL,
        REDIS_PREFIX: stack.config.REDIS_PREFIX,
        AUTH_STRATEGY: 'http_basic',
        HTPASSWD_FILE: htpasswd,
      }),
    );
  });
  afterAll(async () => {
    await served?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps probes, metrics and the OpenAPI document public', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/v1/openapi.json']) {
      expect((await fetch(`${served.url}${path}`)).status, path).toBe(200);
    }
  });

  it('puts the dashboard behind authentication', async () => {
    for (const path of ['/dashboard', '/dashboard/api/queues']) {
      const res = await fetch(`${served.url}${path}`);
      expect(res.status, path).toBe(401);
      expect(await res.json()).toHaveProperty('error.message');
    }
    // With the credentials, every dashboard read answers 200 (dashboardDump checks each).
    await dashboardDump(served.url, { Authorization: basic });
  });
});
