import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSpec, startFakeIronic, type FakeIronic } from '../fixtures/fake-ironic.ts';
import { logLines, workerHttpUrl } from '../helpers/ops.ts';
import { startProcessStack, type ProcessStack } from '../helpers/process-stack.ts';
import { startService, waitUntil, type ServiceProcess } from '../helpers/processes.ts';
import { api } from '../helpers/stack.ts';

let ironic: FakeIronic;
let stack: ProcessStack;
let apiProc: ServiceProcess;
let workerProc: ServiceProcess;
let url: string;
let workerUrl: string;
let env: Record<string, string>;

beforeAll(async () => {
  ironic = await startFakeIronic({ nodes: 3 });
  stack = await startProcessStack(ironic);
  ({ url, env, api: apiProc } = stack);
  workerProc = stack.workers[0]!;
  workerUrl = await workerHttpUrl(workerProc);
});

afterAll(async () => {
  await stack?.stop();
  await ironic?.close();
});

describe("the worker's own HTTP server", () => {
  it('answers liveness and, once its workers wait for jobs, readiness', async () => {
    const live = await fetch(`${workerUrl}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await waitUntil('the worker to be ready', async () => {
      const res = await fetch(`${workerUrl}/readyz`);
      return res.ok ? res : null;
    });
    expect(await ready.json()).toEqual({ status: 'ok' });
  });

  it('serves Prometheus metrics and nothing else', async () => {
    const res = await fetch(`${workerUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^inspector_queue_jobs\{queue="introspection",state="waiting"\} \d+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes /m);

    const unknown = await fetch(`${workerUrl}/v1/introspection`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { message: 'The requested URL was not found on the server' },
    });
    expect((await fetch(`${workerUrl}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('keeps a second worker whose port is taken from starting', async () => {
    const taken = new URL(workerUrl).port;
    const second = startService('apps/worker/src/main.ts', { ...env, WORKER_HTTP_PORT: taken });
    const code = await new Promise((resolve) => second.child.once('exit', resolve));
    expect(code).toBe(1);
    const fatal = logLines(second).find((l) => l.level === 60);
    expect(fatal?.msg).toContain(
      `cannot listen on 127.0.0.1:${taken} (WORKER_HTTP_HOST, WORKER_HTTP_PORT`,
    );
    expect(logLines(second).some((l) => l.msg === 'worker started')).toBe(false);
  });
});

describe('request ids', () => {
  it("the caller's X-Request-Id is on the API's line and on every worker line about the node", async () => {
    const spec = nodeSpec(0);
    const reqId = `ops-e2e-${Date.now()}`;
    const started = await api({ url }, 'POST', `/v1/introspection/${spec.uuid}`, undefined, {
      'X-Request-Id': reqId,
    });
    expect(started.status).toBe(202);
    expect(started.headers.get('x-request-id')).toBe(reqId);
    await waitUntil('the run to finish', async () => {
      const s = await api({ url }, 'GET', `/v1/introspection/${spec.uuid}`);
      return s.body?.state === 'finished';
    });
    // The worker logs its last line just after the run is marked finished.
    await workerProc.waitFor(/introspection finished/);

    const apiLines = logLines(apiProc).filter((l) => l.node === spec.uuid);
    expect(apiLines.find((l) => l.msg === 'introspection started')).toMatchObject({ reqId });

    const workerLines = logLines(workerProc).filter((l) => l.node === spec.uuid);
    expect(workerLines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'node set to boot from PXE and powered on',
        'introspection finished',
      ]),
    );
    expect(workerLines.filter((l) => l.reqId !== reqId)).toEqual([]);

    const metrics = await (await fetch(`${workerUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /^inspector_job_duration_seconds_count\{job="process",outcome="completed"\} [1-9]/m,
    );
    expect(metrics).toContain('inspector_introspections_finished_total 1');
  });
});
