import { connect } from 'node:net';
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

describe("the API's server", () => {
  it('keeps a second API whose port is taken from starting, with the settings named', async () => {
    const taken = new URL(url).port;
    const second = startService('apps/api/src/main.ts', { ...env, PORT: taken });
    const code = await new Promise((resolve) => second.child.once('exit', resolve));
    expect(code).toBe(1);
    const fatal = logLines(second).find((l) => l.level === 60);
    expect(fatal?.msg).toMatch(
      new RegExp(
        `^The API cannot listen on [0-9.]+:${taken} \\(HOST, PORT; 0 picks a free port\\): listen EADDRINUSE`,
      ),
    );
    expect(second.output.join('\n')).not.toContain('Unhandled');
    // The first goes on serving.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
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

    // The job's duration is observed on BullMQ's `completed` event, which
    // comes after the job's last log line, so the scrape may need a retry.
    const completedJob =
      /^inspector_job_duration_seconds_count\{job="process",outcome="completed"\} [1-9]/m;
    const metrics = await waitUntil('the process job to be counted', async () => {
      const text = await (await fetch(`${workerUrl}/metrics`)).text();
      return completedJob.test(text) ? text : undefined;
    });
    expect(metrics).toContain('inspector_introspections_finished_total 1');
  });
});

/** Sends `raw` on a connection of its own and returns all the API wrote back before closing. */
function rawExchange(raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    socket.on('close', () => resolve(answer)).on('error', reject);
  });
}

describe("requests Node's HTTP parser refuses", () => {
  it.each([
    [
      'an unknown method',
      'FOO /v1/introspection HTTP/1.1\r\nHost: x\r\n\r\n',
      400,
      /Invalid method/,
    ],
    [
      'a Content-Length that is no number',
      'POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}',
      400,
      /Malformed HTTP request/,
    ],
    [
      'broken chunking',
      'POST /v1/continue HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      400,
      /Malformed HTTP request/,
    ],
    [
      'headers past the size limit',
      `GET /v1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      /exceed the size limit/,
    ],
  ])(
    'answers %s with a JSON error and the version headers',
    async (_what, raw, status, message) => {
      const answer = await rawExchange(raw);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(head).toContain('Content-Type: application/json');
      expect(head).toContain('X-OpenStack-Ironic-Inspector-API-Maximum-Version: 1.18');
      expect(JSON.parse(body).error.message).toMatch(message);
    },
  );

  it('answers a broken request pipelined behind a good one with one whole answer', async () => {
    // Node parses both in one read, before the first request's answer is under way: the error
    // answer goes out alone and the connection closes, so no caller reads two answers spliced.
    const answer = await rawExchange(
      'GET /v1 HTTP/1.1\r\nHost: x\r\n\r\nFOO /v1 HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(answer.match(/^HTTP\/1\.1 /gm)).toHaveLength(1);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1.1 400 /);
    expect(JSON.parse(body).error.message).toMatch(/Invalid method/);
  });

  it('logs no server error when a caller hangs up mid-body', async () => {
    const { hostname, port } = new URL(url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write('POST /v1/continue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
        socket.write('Content-Length: 1000\r\n\r\n{"inv', () =>
          setTimeout(() => socket.destroy(), 100),
        );
      });
      socket.on('close', () => resolve()).on('error', reject);
    });
    // Nothing marks the API done with a request it answers without logging: half a second is
    // ample where the error this guards against was logged within milliseconds of the hang-up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(logLines(apiProc).filter((l) => Number(l.level) >= 50)).toEqual([]);
  });
});
