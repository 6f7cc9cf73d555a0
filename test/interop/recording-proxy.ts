/**
 * An HTTP proxy that forwards every request to one target and records what a
 * real client sent and what it got back, so interop tests can assert on the
 * exact calls Ironic makes to the service and the service makes to Ironic.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  /** Path with query string. */
  path: string;
  /** Request headers, names lower-cased. */
  headers: Record<string, string>;
  /** Request body as text ('' when none). */
  body: string;
  /** 0 when the target never answered. */
  status: number;
  /** Order of events across all calls: when the request arrived and when its answer began. */
  receivedSeq: number;
  answeredSeq: number;
}

export interface RecordingProxy {
  url: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const to = new URL(target);
  const calls: RecordedCall[] = [];
  let seq = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const call: RecordedCall = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers,
        body: body.toString('utf8'),
        status: 0,
        receivedSeq: ++seq,
        answeredSeq: 0,
      };
      calls.push(call);
      const upstream = http.request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: to.host },
        },
        (answer) => {
          call.status = answer.statusCode ?? 0;
          call.answeredSeq = ++seq;
          res.writeHead(call.status, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
